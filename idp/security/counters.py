"""The one fixed-window counter, shared by every process: in the database, or in Redis.

Request limits (``ratelimit``) and failed-password lockouts (``throttle``) are both this
counter. Its main write is :meth:`Counter.take`: count one event *only if the window still
has room*, atomically, and say whether it did. A refused event writes nothing, so it
cannot extend anything. Once an event that filled the window is known to count (a wrong
password), :meth:`Counter.hold` makes the full window last ``hold_seconds`` from then: the
lockout.

Why take-before-act: checking a limit, doing slow work (an argon2 hash), then counting is
check-then-act — a parallel burst passes the check before the first failure is counted.
Taking the slot first bounds the work at the limit, on SQLite and PostgreSQL alike: the
database version is a single ``INSERT … ON CONFLICT DO UPDATE … WHERE room RETURNING``
in its own short transaction; the Redis version is one Lua script.

Keys name a purpose and a target (``forgot-password:a:203.0.113.7``); targets that people
type (logins, emails) are keyed hashes, never what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Protocol

import redis
from flask import current_app
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import Model
from idp.extensions import db


@dataclass(frozen=True)
class Window:
    """At most ``limit`` events per ``seconds``; a full window may be held ``hold_seconds``."""

    limit: int
    seconds: int
    hold_seconds: int | None = None


class Counter(Protocol):
    def take(self, key: str, window: Window) -> int | None:
        """Count one event if the window has room: the new count, or None (not counted)."""

    def hold(self, key: str, window: Window) -> None:
        """If the window is full, make it end ``window.hold_seconds`` from now (a lockout)."""

    def give_back(self, key: str) -> None:
        """Undo one :meth:`take` (the event turned out not to count, e.g. a good password)."""

    def clear(self, key: str) -> None: ...

    def free_at(self, key: str, window: Window) -> datetime | None:
        """When a full key takes events again; None if it has room now."""


class RateCounter(Model):
    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DatabaseCounter:
    """Rows of ``rate_counters``, one statement per call, on the request's session and in
    its transaction (one connection per request: SQLite never waits on a second connection
    of the same request). Whoever takes commits before doing the slow work the slot stands
    for (``throttle``, ``ratelimit``), so a taken slot stays taken whatever happens next;
    giving back and clearing commit with the caller's change (a lockout is cleared only if
    the change that clears it commits).
    """

    def take(self, key: str, window: Window) -> int | None:
        now = clock.now()
        table = RateCounter.__table__
        count, started = table.c["count"], table.c.window_started_at
        stale = started <= now - timedelta(seconds=window.seconds)
        inserts: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
            "postgresql": postgresql.insert,
            "sqlite": sqlite.insert,
        }
        stmt = (
            inserts[db.engine.dialect.name](table)
            .values(key=key, count=1, window_started_at=now)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "count": case((stale, 1), else_=count + 1),
                    "window_started_at": case((stale, literal(now, UTCDateTime())), else_=started),
                },
                where=or_(stale, count < window.limit),
            )
            .returning(count)
        )
        row = db.session.execute(stmt).first()
        return None if row is None else int(row[0])

    def hold(self, key: str, window: Window) -> None:
        if not window.hold_seconds:
            return
        table = RateCounter.__table__
        # The window's start moves so that it ends hold_seconds from now.
        held = clock.now() + timedelta(seconds=window.hold_seconds) - timedelta(seconds=window.seconds)
        db.session.execute(
            update(table).where(table.c.key == key, table.c["count"] >= window.limit).values(window_started_at=held)
        )

    def give_back(self, key: str) -> None:
        table = RateCounter.__table__
        db.session.execute(
            update(table).where(table.c.key == key, table.c["count"] > 0).values(count=table.c["count"] - 1)
        )

    def clear(self, key: str) -> None:
        db.session.execute(delete(RateCounter.__table__).where(RateCounter.__table__.c.key == key))

    def free_at(self, key: str, window: Window) -> datetime | None:
        table = RateCounter.__table__
        now = clock.now()
        row = db.session.execute(select(table.c["count"], table.c.window_started_at).where(table.c.key == key)).first()
        if row is None or row[0] < window.limit:
            return None
        ends = row[1] + timedelta(seconds=window.seconds)
        return ends if ends > now else None


# KEYS[1] counter; ARGV limit, window ms. Atomic, as Redis runs scripts.
_TAKE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n
"""
# KEYS[1] counter; ARGV limit, hold ms.
_HOLD = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_GIVE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisCounter:
    """Keys ``idp:rl:<key>`` expiring with their window (or hold)."""

    PREFIX = "idp:rl:"

    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self.redis.register_script(_TAKE)
        self._hold = self.redis.register_script(_HOLD)
        self._give_back = self.redis.register_script(_GIVE_BACK)

    def take(self, key: str, window: Window) -> int | None:
        count = int(self._take(keys=[self.PREFIX + key], args=[window.limit, window.seconds * 1000]))
        return count or None

    def hold(self, key: str, window: Window) -> None:
        if window.hold_seconds:
            self._hold(keys=[self.PREFIX + key], args=[window.limit, window.hold_seconds * 1000])

    def give_back(self, key: str) -> None:
        self._give_back(keys=[self.PREFIX + key])

    def clear(self, key: str) -> None:
        self.redis.delete(self.PREFIX + key)

    def free_at(self, key: str, window: Window) -> datetime | None:
        pipeline = self.redis.pipeline()
        pipeline.get(self.PREFIX + key)
        pipeline.pttl(self.PREFIX + key)
        count, ttl_ms = pipeline.execute()
        if count is None or int(count) < window.limit or ttl_ms is None or ttl_ms < 0:
            return None
        return clock.now() + timedelta(milliseconds=int(ttl_ms))


def make_counter(backend: str, redis_url: str) -> Counter:
    return RedisCounter(redis_url) if backend == "redis" else DatabaseCounter()


def counter() -> Counter:
    """The application's counter (``[ratelimit] backend``)."""
    app_counter: Counter = current_app.extensions["idp.counter"]
    return app_counter
