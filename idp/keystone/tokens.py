"""Keystone tokens: issued opaque and stored as hashes, and their body (reference §1.3).

A token dies with its console user (ON DELETE CASCADE), when it is revoked, and when the
API password changes (``events.api_password_changed``).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from sqlalchemy import delete
from sqlalchemy import update

from idp import clock
from idp import events
from idp.directory import console_users
from idp.directory.console_users import ConsoleUser
from idp.extensions import db
from idp.keystone.models import ApiToken
from idp.security.tokens import new_token
from idp.security.tokens import token_hash
from idp.settings import Settings

# Methods of tokens that may manage credentials; others (minted from an access key) may not.
PASSWORD = "password"  # noqa: S105 - the name of an authentication method, not a secret


def _settings() -> Settings:
    settings: Settings = current_app.config["IDP_SETTINGS"]
    return settings


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def issue(user: ConsoleUser, methods: list[str], project_name: str | None) -> tuple[str, ApiToken]:
    now = clock.now()
    raw = new_token()
    token = ApiToken(
        token_hash=token_hash(raw),
        console_user_id=user.id,
        methods=methods,
        project_name=project_name,
        issued_at=now,
        expires_at=now + timedelta(seconds=_settings().api.token_lifetime_seconds),
    )
    db.session.add(token)
    return raw, token


def find(raw: str | None, *, expired_within: timedelta | None = None) -> ApiToken | None:
    """A live token; with ``expired_within``, also one that expired no longer ago than that
    (``allow_expired``, revocation). Revoked tokens and tokens of an inactive account never."""
    if not raw or len(raw) > 512:
        return None
    token = db.session.get(ApiToken, token_hash(raw.strip()))
    if token is None or token.revoked_at is not None:
        return None
    now = clock.now()
    if token.expires_at <= now and (expired_within is None or now - token.expires_at > expired_within):
        return None
    if not token.console_user.membership.account.is_active:
        return None
    return token


def revoke(token: ApiToken) -> None:
    db.session.execute(update(ApiToken).where(ApiToken.token_hash == token.token_hash).values(revoked_at=clock.now()))


def catalog() -> list[dict[str, Any]]:
    settings = _settings()
    region = settings.api.region
    return [
        {
            "type": "identity",
            "name": "iam",
            "id": "identity",
            "endpoints": [
                {
                    "id": "identity-public",
                    "interface": "public",
                    "region": "*",
                    "region_id": "*",
                    "url": settings.server.issuer.rstrip("/") + "/v3",
                }
            ],
        },
        {
            "type": "compute",
            "name": "console",
            "id": "console",
            "endpoints": [
                {
                    "id": "console-public",
                    "interface": "public",
                    "region": region,
                    "region_id": region,
                    "url": settings.api.console_api_url.rstrip("/") + "/v1",
                }
            ],
        },
    ]


def body(
    user: ConsoleUser,
    *,
    methods: list[str],
    project_name: str | None,
    issued_at: datetime,
    expires_at: datetime,
    include_catalog: bool,
) -> dict[str, Any]:
    membership = user.membership
    contract = membership.contract_id
    domain = {"id": console_users.domain_id(contract), "name": contract}
    token: dict[str, Any] = {
        "methods": methods,
        "expires_at": iso(expires_at),
        "issued_at": iso(issued_at),
        "user": {"id": user.user_id, "name": membership.account.login, "password_expires_at": "", "domain": domain},
        "roles": [{"id": role, "name": role} for role in membership.console_role_names],
    }
    if project_name:
        token["project"] = {"id": console_users.project_id(contract), "name": project_name, "domain": domain}
    else:
        token["domain"] = domain
    if include_catalog:
        token["catalog"] = catalog()
    return {"token": token}


def token_body(token: ApiToken, include_catalog: bool) -> dict[str, Any]:
    return body(
        token.console_user,
        methods=list(token.methods),
        project_name=token.project_name,
        issued_at=token.issued_at,
        expires_at=token.expires_at,
        include_catalog=include_catalog,
    )


def _api_password_changed(_app: Flask, *, console_user: ConsoleUser, **_: Any) -> None:
    """Tokens obtained with the old API password end with it."""
    db.session.execute(delete(ApiToken).where(ApiToken.console_user_id == console_user.id))


def init_app(app: Flask) -> None:
    events.api_password_changed.connect(_api_password_changed)
