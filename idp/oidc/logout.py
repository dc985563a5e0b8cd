"""Back-channel logout (OpenID Back-Channel Logout 1.0) through a durable queue.

When an SSO session ends (logout, password reset, expiry of the account), every client
that received tokens in that session and registered a back-channel URI gets a signed
logout token. Deliveries are rows, committed with the session's end; the dispatcher
thread POSTs them and retries with back-off until the client answers 2xx.
"""

from __future__ import annotations

import logging
import secrets
import urllib.error
import urllib.request
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app
from joserfc import jwt
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import db
from idp.oidc.models import OAuth2Client
from idp.oidc.models import OAuth2Token

log = logging.getLogger("idp.oidc.logout")
EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_ATTEMPTS = 50


class BackchannelLogout(db.Model):
    __tablename__ = "backchannel_logouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    sub: Mapped[str] = mapped_column(String(64))
    sid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))


def sid_of(session_hash: str) -> str:
    """The ``sid`` claim of a session: a prefix of the stored hash, never the cookie."""
    return session_hash[:32]


def session_ended(session_hash: str, sub: str) -> int:
    """Queue a logout for each client of this session; revoke the tokens issued in it."""
    client_ids = set(db.session.scalars(
        select(OAuth2Token.client_id).where(OAuth2Token.sso_session == session_hash)
    ))
    now = clock.now()
    db.session.execute(
        update(OAuth2Token).where(OAuth2Token.sso_session == session_hash, OAuth2Token.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    queued = 0
    for client in db.session.scalars(select(OAuth2Client).where(OAuth2Client.client_id.in_(client_ids))):
        if client.backchannel_logout_uri:
            db.session.add(BackchannelLogout(client_id=client.client_id, sub=sub, sid=sid_of(session_hash),
                                             created_at=now, next_attempt_at=now, attempts=0))
            queued += 1
    if queued:
        db.session.info["outbox_pending"] = True  # wake the dispatcher after commit
    return queued


def logout_token(client: OAuth2Client, sub: str, sid: str) -> str:
    settings = current_app.config["IDP_SETTINGS"]
    key = current_app.extensions["idp.keys"].signing_key(settings.oidc.default_signing_alg)
    now = int(clock.now().timestamp())
    claims = {"iss": settings.server.issuer, "aud": client.client_id, "iat": now, "exp": now + 120,
              "jti": secrets.token_urlsafe(16), "sub": sub, "sid": sid, "events": {EVENT: {}}}
    return jwt.encode({"alg": key.alg, "kid": key.kid, "typ": "logout+jwt"}, claims, key.jwk)


def _post(uri: str, token: str, timeout: float = 5) -> None:
    data = urlencode({"logout_token": token}).encode()
    req = urllib.request.Request(uri, data=data, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 - registered https/loopback URI
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(uri, response.status, "not 2xx", response.headers, None)


def deliver_due(limit: int = 100) -> int:
    """POST due logout tokens (inside an app context); return how many were delivered."""
    now = clock.now()
    rows = db.session.scalars(
        select(BackchannelLogout)
        .where(BackchannelLogout.delivered_at.is_(None), BackchannelLogout.next_attempt_at <= now,
               BackchannelLogout.attempts < MAX_ATTEMPTS)
        .order_by(BackchannelLogout.id).limit(limit)
    ).all()
    delivered = 0
    for row in rows:
        # Claim it: push next_attempt_at ahead so a parallel dispatcher skips it.
        claimed = db.session.execute(
            update(BackchannelLogout)
            .where(BackchannelLogout.id == row.id, BackchannelLogout.delivered_at.is_(None),
                   BackchannelLogout.next_attempt_at == row.next_attempt_at)
            .values(next_attempt_at=now + timedelta(seconds=60), attempts=BackchannelLogout.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        client = db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == row.client_id))
        if client is None or not client.backchannel_logout_uri:
            row.delivered_at = clock.now()  # nothing left to tell
            db.session.commit()
            continue
        try:
            _post(client.backchannel_logout_uri, logout_token(client, row.sub, row.sid))
        except Exception as exc:  # noqa: BLE001 - any failure means "try again later"
            db.session.refresh(row)
            row.next_attempt_at = clock.now() + timedelta(seconds=min(5 * 2 ** (row.attempts - 1), 3600))
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            db.session.commit()
            log.warning("backchannel_deferred", extra={"client_id": row.client_id, "attempts": row.attempts})
            continue
        row.delivered_at = clock.now()
        row.last_error = None
        db.session.commit()
        delivered += 1
    return delivered
