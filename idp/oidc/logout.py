"""What ending a session or changing an account means for tokens (OpenID Connect
Back-Channel Logout 1.0, RFC 7009 in spirit), answered on the domain events.

What happens here on each event:

- ``session_ended``: tokens issued in that session are revoked (but an ``offline_access``
  family: ``lifetimes``); each of its clients with a
  ``backchannel_logout_uri`` gets a signed logout token through the ``backchannel-logout``
  job queue
- ``account_removed``, ``account_disabled``: every token of the account is revoked
- ``membership_changed``: tokens that carried that contract's console roles are revoked

Deliveries are jobs, committed with the session's end and retried with back-off until the
client answers 2xx (at most ``MAX_ATTEMPTS`` times), on a queue of their own so that a
slow client never holds up mail, served by ``oidc.backchannel_workers`` threads so that one
slow client holds up the others' logouts at most ``oidc.backchannel_deadline_seconds``.

Each call goes through ``security.outbound`` (one wall-clock deadline, redirects never
followed, the resolved address checked then connected to): a 3xx, 4xx, 5xx, a refused
destination or the deadline is a failed attempt. Clients not registered as first-party
are never called on internal addresses unless ``oidc.backchannel_allowed_networks`` allows.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from flask import current_app
from joserfc import jwt
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp import events
from idp import jobs
from idp.directory.models import Account
from idp.extensions import db
from idp.jobs import Job
from idp.oidc import clients
from idp.oidc.models import OAuth2Client
from idp.oidc.models import OAuth2Token
from idp.security import outbound

QUEUE = "backchannel-logout"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_ATTEMPTS = 50


def sid_of(session_hash: str) -> str:
    """The ``sid`` claim of a session: a prefix of the stored hash, never the cookie."""
    return session_hash[:32]


def _revoke(*conditions: Any) -> None:
    db.session.execute(
        update(OAuth2Token).where(OAuth2Token.revoked_at.is_(None), *conditions).values(revoked_at=clock.now())
    )


def _session_ended(_app: Flask, *, session_hash: str, subject: str, **_: Any) -> None:
    """Revoke the session's tokens; queue a logout for each of its clients that asks for one."""
    client_ids = set(db.session.scalars(select(OAuth2Token.client_id).where(OAuth2Token.sso_session == session_hash)))
    _revoke(OAuth2Token.sso_session == session_hash, OAuth2Token.offline.is_(False))  # offline: lifetimes
    for client in db.session.scalars(select(OAuth2Client).where(OAuth2Client.client_id.in_(client_ids))):
        if client.backchannel_logout_uri:
            jobs.enqueue(QUEUE, {"client_id": client.client_id, "sub": subject, "sid": sid_of(session_hash)})


def _account_removed(_app: Flask, *, account: Account, **_: Any) -> None:
    _revoke(OAuth2Token.account_id == account.id)


def _membership_changed(_app: Flask, *, account_id: int, contract_id: str, **_: Any) -> None:
    _revoke(OAuth2Token.account_id == account_id, OAuth2Token.company_account == contract_id)


def logout_token(client: OAuth2Client, sub: str, sid: str) -> str:
    settings = current_app.config["IDP_SETTINGS"]
    key = current_app.extensions["idp.keys"].signing_key(settings.oidc.default_signing_alg)
    now = int(clock.now().timestamp())
    claims = {
        "iss": settings.server.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "sub": sub,
        "sid": sid,
        "events": {EVENT: {}},
    }
    return jwt.encode({"alg": key.alg, "kid": key.kid, "typ": "logout+jwt"}, claims, key.jwk)


def _deliver(job: Job) -> None:
    client = clients.find(job.payload["client_id"])
    if client is None or not client.backchannel_logout_uri:
        return  # nothing left to tell
    settings = current_app.config["IDP_SETTINGS"].oidc
    uri = client.backchannel_logout_uri
    token = logout_token(client, job.payload["sub"], job.payload["sid"])
    policy = outbound.Policy(
        allowed=outbound.parse_networks(settings.backchannel_allowed_networks), trusted=client.first_party
    )
    db.session.commit()  # nothing written: end the read transaction before waiting on the network
    status = outbound.post_form(
        uri, {"logout_token": token}, policy=policy, deadline_seconds=settings.backchannel_deadline_seconds
    )
    if not 200 <= status < 300:
        raise RuntimeError(f"back-channel logout answered {status}")


def init_app(app: Flask) -> None:
    workers = app.config["IDP_SETTINGS"].oidc.backchannel_workers
    app.extensions["idp.jobs"].register(jobs.Queue(QUEUE, _deliver, max_attempts=MAX_ATTEMPTS, workers=workers))
    events.session_ended.connect(_session_ended)
    events.account_removed.connect(_account_removed)
    events.account_disabled.connect(_account_removed)
    events.membership_changed.connect(_membership_changed)
