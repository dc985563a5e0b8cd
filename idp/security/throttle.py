"""Failed-login throttling with a temporary lockout, shared by every process via the DB.

Each key (a login, a client address) counts failures in a fixed window; reaching the
limit locks the key for a fixed time. Why it cannot lock a victim out for good: the lock
always expires, failures while locked are not counted (they cannot extend it), and a
login typed for an account that does not exist is throttled exactly the same way, so the
lock reveals nothing either. Logins are stored as keyed hashes, never as typed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Integer
from sqlalchemy import case
from sqlalchemy import literal
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import db
from idp.settings import ThrottleSettings


class ThrottleCounter(db.Model):
    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window: timedelta
    lockout: timedelta


@dataclass(frozen=True)
class ThrottleState:
    locked_until: datetime | None
    # True when the login has a counter row, i.e. a success has something to clear.
    login_has_failures: bool


class LoginThrottle:
    def __init__(self, settings: ThrottleSettings, secret: str) -> None:
        self._secret = secret.encode()
        self.account = Limit(
            settings.account_max_failures,
            timedelta(seconds=settings.account_window_seconds),
            timedelta(seconds=settings.account_lockout_seconds),
        )
        self.address = Limit(
            settings.address_max_failures,
            timedelta(seconds=settings.address_window_seconds),
            timedelta(seconds=settings.address_lockout_seconds),
        )

    def keys(self, login: str, address: str | None) -> dict[str, Limit]:
        digest = hmac.new(self._secret, login.casefold().encode(), hashlib.sha256).hexdigest()[:40]
        return {f"login:{digest}": self.account, f"addr:{address or 'unknown'}": self.address}

    def check(self, login: str, address: str | None) -> ThrottleState:
        """Read both counters in one query: is a lock in force, are failures on record?"""
        now = clock.now()
        keys = self.keys(login, address)
        rows = db.session.execute(
            select(ThrottleCounter.key, ThrottleCounter.locked_until).where(ThrottleCounter.key.in_(list(keys)))
        ).all()
        active = [until for _, until in rows if until is not None and until > now]
        login_key = next(iter(keys))
        return ThrottleState(max(active, default=None), any(key == login_key for key, _ in rows))

    def fail(self, login: str, address: str | None) -> bool:
        """Count a failure on every key; return True if this failure locked one of them."""
        now = clock.now()
        locked = False
        for key, limit in self.keys(login, address).items():
            failures = self._increment(key, now, now - limit.window)
            if failures >= limit.max_failures:
                # Start afresh after the lock: the next window opens when it ends.
                db.session.execute(
                    update(ThrottleCounter)
                    .where(ThrottleCounter.key == key)
                    .values(locked_until=now + limit.lockout, failures=0, window_started_at=now + limit.lockout)
                )
                locked = True
        return locked

    def succeed(self, login: str) -> None:
        """A successful login clears the account's failures (not the address's)."""
        key = next(iter(self.keys(login, None)))
        db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))

    @staticmethod
    def _increment(key: str, now: datetime, window_start: datetime) -> int:
        """Atomically count one failure (one statement, so parallel requests all count)."""
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[db.engine.dialect.name]
        table = ThrottleCounter.__table__
        stale = table.c.window_started_at < window_start
        stmt = (
            insert(table)
            .values(key=key, failures=1, window_started_at=now, locked_until=None)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case((stale, 1), else_=table.c.failures + 1),
                    "window_started_at": case(
                        (stale, literal(now, UTCDateTime())), else_=table.c.window_started_at
                    ),
                },
            )
            .returning(table.c.failures)
        )
        return int(db.session.execute(stmt).scalar_one())
