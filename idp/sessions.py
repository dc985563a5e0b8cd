"""Server-side SSO sessions behind an opaque cookie.

The cookie holds 256 random bits; the table holds only their SHA-256, so a database leak
yields no usable session. A session ends at the first of: logout, its idle lifetime, its
absolute lifetime, or an event that ends every session of the account (a new password,
the account's removal: ``events.password_changed``, ``events.account_removed``).

Whenever one ends, ``events.session_ended`` says so; what it means for tokens issued in it
is the OpenID provider's business, not this module's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import redirect
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp import clock
from idp import events
from idp.db_types import UTCDateTime
from idp.directory.models import Account
from idp.extensions import Model
from idp.extensions import db
from idp.security import audit
from idp.security.tokens import new_token
from idp.security.tokens import token_hash
from idp.settings import Settings


class SsoSession(Model):
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
        cached: SsoSession | None = g.sso_session
        return cached
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
    events.session_ended.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        session_hash=session_hash,
        subject=account.public_id,
    )


def end(session: SsoSession) -> None:
    session.ended_at = clock.now()
    _ended(session.id_hash, session.account)
    g.sso_cookie = ""
    g.sso_session = None


def end_all(account_id: int, keep_hash: str | None = None) -> int:
    """End every live session of an account (but the one hashed ``keep_hash``); return how many ended."""
    query = select(SsoSession).where(SsoSession.account_id == account_id, SsoSession.ended_at.is_(None))
    if keep_hash is not None:
        query = query.where(SsoSession.id_hash != keep_hash)
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
            policy.name,
            token,
            max_age=policy.max_age,
            path="/",
            secure=policy.secure,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(policy.name, path="/", secure=policy.secure, httponly=True, samesite="Lax")
    return response


def signed_in(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Run ``view`` with the live session as first argument, or send the browser to sign in."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        session = current()
        if session is None:
            return redirect(url_for("selfservice.login", next=request.path))
        return view(session, *args, **kwargs)

    return wrapper


def _on_password_changed(_app: Flask, *, account: Account, keep_session_hash: str | None, **_: Any) -> None:
    end_all(account.id, keep_hash=keep_session_hash)


def _on_account_removed(_app: Flask, *, account: Account, **_: Any) -> None:
    end_all(account.id)


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["idp.cookie"] = cookie_policy(settings)
    app.after_request(_write_cookie)
    events.password_changed.connect(_on_password_changed)
    events.account_removed.connect(_on_account_removed)
