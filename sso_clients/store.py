"""The relying apps' server-side state, shared by every process of an app and kept across
restarts: their sessions, the IdP sessions (``sid``) the IdP said are over, and the
logout-token ``jti``s already used. A session cookie holds only a random key; the row holds
the data (the key stored as its hash), so deleting the row ends the session for every copy
of the cookie, in every worker, for good.

SQLAlchemy Core: a SQLite file in the app's instance folder by default, any URL
(PostgreSQL) when the app runs on several machines. Every row carries the app's client id,
so the portal and the console may share one database."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import Request
from flask import Response
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSession
from flask.sessions import SessionInterface
from flask.sessions import SessionMixin
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

metadata = sa.MetaData()

#: One row per browser session: the data Flask's ``session`` holds, and the IdP session
#: (``sid``) and person (``sub``) it belongs to, so that a logout token finds it.
sessions = sa.Table(
    "rp_session",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("sid", sa.String(255), index=True),
    sa.Column("sub", sa.String(255), index=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

#: Facts kept until they cannot matter any more: ``sid`` (an ended IdP session: no session
#: of it may live on or be created) and ``jti`` (a logout token already used).
marks = sa.Table(
    "rp_mark",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("value", sa.String(255), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

#: The app's signing secret (CSRF tokens), made once and shared by all its processes.
secrets_table = sa.Table(
    "rp_secret",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("secret_key", sa.String(128), nullable=False),
)

#: Longest ``sid``, ``sub`` or ``jti`` kept (a longer one is refused before it gets here).
MAX_VALUE = 255


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def default_url(app: Flask, client_id: str) -> str:
    return f"sqlite:///{app.instance_path}/{client_id}.sqlite3"


class Store:
    """Atomic operations on the shared state of one app (``app`` = its client id)."""

    def __init__(self, url: str, app: str) -> None:
        self.app = app
        sqlite = url.startswith("sqlite")
        self.engine = sa.create_engine(url, pool_pre_ping=not sqlite, connect_args={"timeout": 15} if sqlite else {})
        if sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            metadata.create_all(self.engine)
        except sa.exc.DatabaseError:  # another process created the tables at the same moment
            metadata.create_all(self.engine)
        # No connection crosses a fork (gunicorn --preload): each worker opens its own.
        self.engine.dispose()

    # --- sessions ---------------------------------------------------------------------------

    def load(self, key: str) -> dict[str, Any] | None:
        """The session's row, unless it expired or its IdP session ended (checked in the same
        query, so a session stored a moment after its logout token is still refused)."""
        ended = sa.exists().where(marks.c.app == self.app, marks.c.kind == "sid", marks.c.value == sessions.c.sid)
        query = sa.select(sessions.c.data, sessions.c.expires_at).where(
            sessions.c.app == self.app,
            sessions.c.key_hash == _hash(key),
            sessions.c.expires_at > int(time.time()),
            ~ended,
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else {"data": row.data, "expires_at": row.expires_at}

    def insert(self, key: str, data: str, sid: str | None, sub: str | None, expires_at: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.expires_at <= int(time.time())))
            conn.execute(
                sessions.insert().values(
                    app=self.app, key_hash=_hash(key), sid=sid, sub=sub, data=data, expires_at=expires_at
                )
            )

    def update(self, key: str, data: str, sid: str | None, sub: str | None) -> bool:
        """False when the row is gone (logged out meanwhile): the session is not brought back."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sessions.update()
                .where(
                    sessions.c.app == self.app,
                    sessions.c.key_hash == _hash(key),
                    sessions.c.expires_at > int(time.time()),
                )
                .values(data=data, sid=sid, sub=sub)
            )
        return result.rowcount == 1

    def delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.app == self.app, sessions.c.key_hash == _hash(key)))

    # --- what the IdP told us ---------------------------------------------------------------

    def end(self, *, sid: str | None, sub: str | None, keep_until: int) -> int:
        """End every session of ``sid`` (or, without one, of ``sub``); remember the ``sid``
        until no session of it can exist any more. Returns how many sessions ended."""
        with self.engine.begin() as conn:
            if sid:
                self._mark(conn, "sid", sid, keep_until)
                condition = sessions.c.sid == sid
            else:
                condition = sessions.c.sub == sub
            result = conn.execute(sessions.delete().where(sessions.c.app == self.app, condition))
        return int(result.rowcount)

    def is_ended(self, sid: str) -> bool:
        query = sa.select(marks.c.value).where(
            marks.c.app == self.app,
            marks.c.kind == "sid",
            marks.c.value == sid,
            marks.c.expires_at > int(time.time()),
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def first_use(self, jti: str, keep_until: int) -> bool:
        """True the first time a ``jti`` is seen (the primary key decides, under any race)."""
        with self.engine.begin() as conn:
            return self._mark(conn, "jti", jti, keep_until)

    def _mark(self, conn: sa.Connection, kind: str, value: str, keep_until: int) -> bool:
        conn.execute(marks.delete().where(marks.c.expires_at <= int(time.time())))
        return _insert_new(conn, marks, app=self.app, kind=kind, value=value, expires_at=keep_until)

    def secret_key(self) -> str:
        """The app's secret, the same in every process: the first one to ask makes it."""
        with self.engine.begin() as conn:
            _insert_new(conn, secrets_table, app=self.app, secret_key=secrets.token_urlsafe(48))
            return str(conn.scalar(sa.select(secrets_table.c.secret_key).where(secrets_table.c.app == self.app)))


def _insert_new(conn: sa.Connection, table: sa.Table, **values: object) -> bool:
    """Insert unless the primary key exists (``ON CONFLICT DO NOTHING``, SQLite and
    PostgreSQL alike): True if this call inserted it, whatever runs at the same time."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return conn.execute(statement).first() is not None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets several workers read while one writes."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class StoredSession(SecureCookieSession):
    """Flask's session, plus the key of its row (None until stored) and a flag to give it
    a new key (sign-in: the key a browser had before is not the one it has after)."""

    def __init__(self, initial: dict[str, Any] | None = None, key: str | None = None, expires_at: int = 0) -> None:
        super().__init__(initial)
        self.key = key
        self.expires_at = expires_at
        self.renew = False


class StoredSessionInterface(SessionInterface):
    """Sessions kept in the :class:`Store`; the cookie is a random key without meaning."""

    serializer = TaggedJSONSerializer()

    def __init__(self, store: Store, lifetime: int, anonymous_lifetime: int) -> None:
        self.store = store
        self.lifetime = lifetime
        self.anonymous_lifetime = anonymous_lifetime

    def open_session(self, app: Flask, request: Request) -> StoredSession:
        key = request.cookies.get(self.get_cookie_name(app))
        if key and len(key) <= 128:
            row = self.store.load(key)
            if row is not None:
                return StoredSession(self.serializer.loads(row["data"]), key, int(row["expires_at"]))
        return StoredSession()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, StoredSession)
        if session.accessed:
            response.vary.add("Cookie")
        if not (session.modified or session.renew):
            return
        if not session:  # cleared (sign-out): the row goes, whoever holds a copy of the cookie
            if session.key:
                self.store.delete(session.key)
                self._forget(app, response)
            return
        data = self.serializer.dumps(dict(session))
        user = session.get("user") or {}
        sid, sub = user.get("sid"), user.get("sub")
        if session.key and not session.renew:
            if not self.store.update(session.key, data, sid, sub):
                self._forget(app, response)
            return
        if session.key:
            self.store.delete(session.key)
        # A visitor's row is short-lived (anyone can make one with a GET); signing in renews
        # the session (a new row), which then lives the full lifetime.
        lifetime = self.lifetime if user else self.anonymous_lifetime
        key, expires_at = secrets.token_urlsafe(32), int(time.time()) + lifetime
        self.store.insert(key, data, sid, sub, expires_at)
        response.set_cookie(
            self.get_cookie_name(app),
            key,
            max_age=lifetime,
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
            secure=self.get_cookie_secure(app),
            httponly=True,
            samesite=self.get_cookie_samesite(app),
        )

    def _forget(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
            secure=self.get_cookie_secure(app),
            httponly=True,
            samesite=self.get_cookie_samesite(app),
        )
