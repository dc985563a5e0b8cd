"""Fixed-window request counters shared by every process: in the database, or in Redis.

``hit(key, limit, window)`` counts one request and says whether it is still within the
limit. Keys name a purpose and a target (``forgot-password:addr:203.0.113.7``); targets
that people type (logins, emails) are hashed before they become keys.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from datetime import timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import case
from sqlalchemy import literal
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import db


class RateCounter(db.Model):
    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_seconds: int) -> bool: ...


class DatabaseLimiter:
    """One atomic upsert per hit, in its own short transaction, so a refusal still counts."""

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        now = clock.now()
        table = RateCounter.__table__
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[db.engine.dialect.name]
        stale = table.c.window_started_at < now - timedelta(seconds=window_seconds)
        stmt = (
            insert(table)
            .values(key=key, count=1, window_started_at=now)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "count": case((stale, 1), else_=table.c.count + 1),
                    "window_started_at": case((stale, literal(now, UTCDateTime())), else_=table.c.window_started_at),
                },
            )
            .returning(table.c.count)
        )
        with db.engine.begin() as conn:
            count = int(conn.execute(stmt).scalar_one())
        return count <= limit


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        name = f"idp:rl:{key}"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count) <= limit


def limiter() -> RateLimiter:
    return current_app.extensions["idp.ratelimit"]


def make_limiter(backend: str, redis_url: str) -> RateLimiter:
    return RedisLimiter(redis_url) if backend == "redis" else DatabaseLimiter()


def target_key(purpose: str, value: str) -> str:
    """A key for a typed target: keyed hash, so counters never store what was typed."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), value.strip().casefold().encode(), hashlib.sha256)
    return f"{purpose}:t:{digest.hexdigest()[:32]}"


def address_key(purpose: str, address: str | None) -> str:
    return f"{purpose}:a:{address or 'unknown'}"


