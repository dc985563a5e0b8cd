"""Server-side SSO sessions behind an opaque cookie.

The cookie holds 256 random bits; the table holds only their SHA-256, so a database leak
yields no usable session. A session ends at the first of: logout, its idle lifetime, its
absolute lifetime, or an event that ends every session of the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp import audit
from idp import clock
from idp.db_types import UTCDateTime
from idp.directory.models import Account
from idp.extensions import db
from idp.security.tokens import new_token
from idp.security.tokens import token_hash
from idp.settings import Settings


class SsoSession(db.Model):
    __tablename__ = "sso_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))

    account: Mapped[Account] = relationship(lazy="joined")


@dataclass(frozen=True)
class CookiePolicy:
    name: str
    secure: bool
    max_age: int


def cookie_policy(settings: Settings) -> CookiePolicy:
    secure = settings.secure_cookies
    # __Host- binds the cookie to this exact origin: Secure, Path=/ and no Domain.
    name = "__Host-idp_session" if secure else "idp_session"
    return CookiePolicy(name, secure, settings.session.absolute_timeout_seconds)


def open_session(account: Account) -> str:
    """Create a session for ``account`` and schedule its cookie on the response."""
    settings: Settings = current_app.config["IDP_SETTINGS"]
    now = clock.now()
    token = new_token()
    db.session.execute(
        SsoSession.__table__.insert(),
        {
            "id_hash": token_hash(token),
            "account_id": account.id,
            "created_at": now,
            "auth_time": now,
            "last_seen_at": now,
            "expires_at": now + timedelta(seconds=settings.session.absolute_timeout_seconds),
            "ended_at": None,
            "ip": request.remote_addr,
            "user_agent": (request.user_agent.string or "")[:256] or None,
        },
    )
    g.sso_cookie = token
    g.sso_session = None
    return token


def current() -> SsoSession | None:
    """The live session of this request's cookie, or None (expired ones are ended)."""
    if "sso_session" in g:
        return g.sso_session
    g.sso_session = None
    policy: CookiePolicy = current_app.extensions["idp.cookie"]
    token = request.cookies.get(policy.name)
    if not token or len(token) > 64:
        return None
    session = db.session.get(SsoSession, token_hash(token))
    if session is None or session.ended_at is not None or not session.account.is_active:
        g.sso_cookie = ""
        return None
    settings: Settings = current_app.config["IDP_SETTINGS"]
    now = clock.now()
    idle = timedelta(seconds=settings.session.idle_timeout_seconds)
    if now >= session.expires_at or now - session.last_seen_at >= idle:
        session.ended_at = now
        _ended(session.id_hash, session.account)
        audit.record(audit.EventTag.SESSION_EXPIRED, session.account_id)
        db.session.commit()
        g.sso_cookie = ""
        return None
    if now - session.last_seen_at >= timedelta(seconds=settings.session.touch_interval_seconds):
        session.last_seen_at = now
        db.session.commit()
    g.sso_session = session
    return session


def _ended(session_hash: str, account: Account) -> None:
    from idp.oidc.logout import session_ended

    session_ended(session_hash, account.public_id)


def end(session: SsoSession) -> None:
    session.ended_at = clock.now()
    _ended(session.id_hash, session.account)
    g.sso_cookie = ""
    g.sso_session = None


def end_all(account_id: int, keep: SsoSession | None = None) -> int:
    """End every live session of an account (but ``keep``); return how many ended."""
    query = select(SsoSession).where(SsoSession.account_id == account_id, SsoSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(SsoSession.id_hash != keep.id_hash)
    ended = list(db.session.scalars(query))
    now = clock.now()
    for session in ended:
        session.ended_at = now
        _ended(session.id_hash, session.account)
    return len(ended)


def _write_cookie(response: Response) -> Response:
    token = g.get("sso_cookie")
    if token is None:
        return response
    policy: CookiePolicy = current_app.extensions["idp.cookie"]
    if token:
        response.set_cookie(
            policy.name, token, max_age=policy.max_age, path="/", secure=policy.secure,
            httponly=True, samesite="Lax",
        )
    else:
        response.delete_cookie(policy.name, path="/", secure=policy.secure, httponly=True, samesite="Lax")
    return response


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["idp.cookie"] = cookie_policy(settings)
    app.after_request(_write_cookie)
