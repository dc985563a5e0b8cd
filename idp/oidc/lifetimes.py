"""How long a grant lives: refresh-token families bounded by their session or, with
``offline_access``, by their own cap (OpenID Connect Core §11; RFC 9700 §4.14).

    code exchanged ──► a family: family_started_at = now, refresh_expires_at fixed once
      session-bound (the default): refused as soon as its SSO session has ended or passed
        its idle or absolute limit (``sessions.keep_alive``, which ends an expired one the
        normal way); ends at start + oidc.refresh_family_lifetime_seconds, never later than
        the session's absolute end
      offline (``offline_access`` requested and consented on the consent page): survives
        the end of its session (logout, expiry), not a password change nor the account's
        removal; ends at start + oidc.offline_lifetime_seconds
    each rotation carries family_started_at, refresh_expires_at and offline unchanged: a
    family never slides, however often it is used.

The rows the maintenance run purges (``jobs``): authorization codes, tokens of dead
families (expired or revoked) and client-assertion ``jti``s, once past
``jobs.expired_retention_seconds`` (codes and rotated tokens are kept that long so that a
replay is still recognised and revokes what it must).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from sqlalchemy import or_
from sqlalchemy import update

from idp import clock
from idp import events
from idp.directory.models import Account
from idp.extensions import db
from idp.jobs import Runner
from idp.oidc.models import AuthorizationCode
from idp.oidc.models import ClientAssertion
from idp.oidc.models import OAuth2Token
from idp.sessions import SsoSession
from idp.settings import Settings

OFFLINE_ACCESS = "offline_access"


def asks_offline(scope: str | None) -> bool:
    return OFFLINE_ACCESS in (scope or "").split()


def family_end(started: datetime, *, offline: bool, session: SsoSession | None) -> datetime:
    """When a family born at ``started`` stops being refreshed, whatever its rotations."""
    settings: Settings = current_app.config["IDP_SETTINGS"]
    if offline:
        return started + timedelta(seconds=settings.oidc.offline_lifetime_seconds)
    end = started + timedelta(seconds=settings.oidc.refresh_family_lifetime_seconds)
    return min(end, session.expires_at) if session is not None else end


def _password_changed(_app: Flask, *, account: Account, **_: Any) -> None:
    """Offline grants outlive sessions, not a new password: whoever held the old one may
    have granted them (the sessions' own tokens end with the sessions)."""
    db.session.execute(
        update(OAuth2Token)
        .where(OAuth2Token.account_id == account.id, OAuth2Token.offline.is_(True), OAuth2Token.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def init_app(app: Flask, settings: Settings) -> None:
    events.password_changed.connect(_password_changed)
    runner: Runner = app.extensions["idp.jobs"]
    retention = timedelta(seconds=settings.jobs.expired_retention_seconds)
    runner.add_purge(AuthorizationCode.__table__, lambda now: AuthorizationCode.expires_at < now - retention)
    runner.add_purge(
        OAuth2Token.__table__,
        lambda now: (
            (OAuth2Token.expires_at < now - retention)
            & or_(
                OAuth2Token.revoked_at < now - retention,
                OAuth2Token.refresh_expires_at < now - retention,
                OAuth2Token.refresh_expires_at.is_(None),
            )
        ),
    )
    # A jti matters only while its assertion could still be accepted.
    runner.add_purge(ClientAssertion.__table__, lambda now: ClientAssertion.expires_at < now)
