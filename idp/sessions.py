"""Server-side SSO sessions behind an opaque cookie.

The cookie holds 256 random bits; the table holds only their SHA-256, so a database leak
yields no usable session. A session ends at the first of: logout, its idle lifetime, its
absolute lifetime, or an event that ends every session of the account (a new password,
the account's removal or disabling: ``events.password_changed``, ``events.account_removed``,
``events.account_disabled``).

Whenever one ends, ``events.session_ended`` says so, exactly once (the end is one
conditional ``UPDATE … WHERE ended_at IS NULL``: the browser, a token refresh and the
maintenance run may all notice the same expiry); what it means for tokens issued in it is
the OpenID provider's business, not this module's.

A session is noticed to have expired by whoever uses it next: its browser (:func:`current`),
a refresh token issued in it (:func:`keep_alive`), or, if nobody comes back, the
maintenance run (``jobs``), which ends it the same way. A refresh is activity like a page
view (as Keycloak's "SSO Session Idle"): an application in use keeps its session from
idling out, never past the absolute limit.
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
from flask import has_request_context
from flask import redirect
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp import clock
from idp import events
from idp import jobs
from idp.db_types import UTCDateTime
from idp.directory.models import Account
from idp.extensions import Model
from idp.extensions import db
from idp.extensions import rowcount
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
    # Both indexed for the maintenance run's search of expired sessions.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
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
    usable = session is not None and session.ended_at is None and session.account.is_active
    if session is None or not usable or not _live_or_ended(session):
        g.sso_cookie = ""
        return None
    g.sso_session = session
    return session


def live(session_hash: str | None) -> SsoSession | None:
    """The session, if it is live now; reads only (an authorization code's exchange)."""
    session = db.session.get(SsoSession, session_hash) if session_hash else None
    if session is None or session.ended_at is not None or _past_limits(session, clock.now()):
        return None
    return session


def keep_alive(session_hash: str | None) -> bool:
    """Whether the session a token was issued in is live, for a refresh: a live one counts
    the refresh as activity; an expired one is ended now (committed)."""
    session = db.session.get(SsoSession, session_hash) if session_hash else None
    return session is not None and session.ended_at is None and _live_or_ended(session)


def _settings() -> Settings:
    settings: Settings = current_app.config["IDP_SETTINGS"]
    return settings


def _past_limits(session: SsoSession, now: datetime) -> bool:
    """The session's idle or absolute limit has passed (it may not have been ended yet)."""
    idle = timedelta(seconds=_settings().session.idle_timeout_seconds)
    return now >= session.expires_at or now - session.last_seen_at >= idle


def _expired(now: datetime) -> ColumnElement[bool]:
    """:func:`_past_limits` in SQL, for sessions not ended yet."""
    idle = timedelta(seconds=_settings().session.idle_timeout_seconds)
    return SsoSession.ended_at.is_(None) & or_(SsoSession.expires_at <= now, SsoSession.last_seen_at <= now - idle)


def _live_or_ended(session: SsoSession) -> bool:
    """True for a live session (its ``last_seen_at`` touched now and then); a session past
    its idle or absolute limit is ended, committed, and False."""
    now = clock.now()
    if _past_limits(session, now):
        _end_once(session, expired=True)
        db.session.commit()
        return False
    if now - session.last_seen_at >= timedelta(seconds=_settings().session.touch_interval_seconds):
        session.last_seen_at = now
        db.session.commit()
    return True


def _end_once(session: SsoSession, *, expired: bool = False) -> bool:
    """End the session unless something else already has; only the one that ends it tells
    (``events.session_ended``) and, for an expiry, audits. True if this call ended it."""
    now = clock.now()
    ended = rowcount(
        update(SsoSession)
        .where(SsoSession.id_hash == session.id_hash, SsoSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    if not ended:
        return False
    events.session_ended.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        session_hash=session.id_hash,
        subject=session.account.public_id,
    )
    if expired:
        audit.record(
            audit.EventTag.SESSION_EXPIRED, session.account_id, actor=None if has_request_context() else "jobs"
        )
    return True


def end(session: SsoSession) -> None:
    _end_once(session)
    g.sso_cookie = ""
    g.sso_session = None


def end_all(account_id: int, keep_hash: str | None = None) -> int:
    """End every live session of an account (but the one hashed ``keep_hash``); return how many ended."""
    query = select(SsoSession).where(SsoSession.account_id == account_id, SsoSession.ended_at.is_(None))
    if keep_hash is not None:
        query = query.where(SsoSession.id_hash != keep_hash)
    return sum(_end_once(session) for session in db.session.scalars(query).all())


def end_expired(now: datetime) -> int:
    """The maintenance chore: end the sessions past a limit whose browser never came back,
    each committed with what its end sets off (tokens revoked, back-channel logouts queued)."""
    ended = 0
    for _ in range(jobs.PURGE_MAX_BATCHES):
        batch = db.session.scalars(select(SsoSession).where(_expired(now)).limit(jobs.PURGE_BATCH)).all()
        for session in batch:
            ended += _end_once(session, expired=True)
            db.session.commit()
        if len(batch) < jobs.PURGE_BATCH:
            break
    return ended


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
    runner: jobs.Runner = app.extensions["idp.jobs"]
    runner.add_chore("end-expired-sessions", end_expired)
    retention = timedelta(seconds=settings.jobs.expired_retention_seconds)
    runner.add_purge(SsoSession.__table__, lambda now: SsoSession.ended_at < now - retention)
    app.after_request(_write_cookie)
    events.password_changed.connect(_on_password_changed)
    events.account_removed.connect(_on_account_removed)
    events.account_disabled.connect(_on_account_removed)
