"""The one fixed-window counter (``security.counters``), on the database and on Redis:
windows, holds (lockouts), and atomic takes under a parallel burst. (The database counter
works in the session's transaction; its callers commit.)"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from idp import clock
from idp import create_app
from idp.extensions import db
from idp.security.counters import Counter
from idp.security.counters import DatabaseCounter
from idp.security.counters import RedisCounter
from idp.security.counters import Window

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["database", "redis"])
def counter(request: pytest.FixtureRequest, app: Flask) -> Iterator[Counter]:
    with app.app_context():
        yield DatabaseCounter() if request.param == "database" else RedisCounter(REDIS_URL)


def key() -> str:
    return f"test:{secrets.token_hex(8)}"


def test_take_counts_until_the_window_is_full_then_refuses_without_counting(counter: Counter) -> None:
    k, window = key(), Window(3, 60)
    assert [counter.take(k, window) for _ in range(5)] == [1, 2, 3, None, None]
    assert counter.free_at(k, window) is not None
    counter.give_back(k)
    assert counter.take(k, window) == 3  # the refused takes left nothing behind
    counter.clear(k)
    assert counter.free_at(k, window) is None and counter.take(k, window) == 1


def test_a_full_window_opens_again_when_it_ends(app: Flask) -> None:
    with app.app_context():
        counter, k, window = DatabaseCounter(), key(), Window(2, 60)
        assert counter.take(k, window) and counter.take(k, window) and counter.take(k, window) is None
        with clock.shifted(timedelta(seconds=61)):
            assert counter.take(k, window) == 1


def test_a_held_window_refuses_for_the_hold_from_then(counter: Counter) -> None:
    """The lockout: 3 in 15 minutes, held from the third, last 5 minutes; then it starts afresh.
    Holding a window with room, or one refused take, changes nothing."""
    k, window = key(), Window(3, 900, hold_seconds=300)
    with clock.shifted(timedelta(minutes=-10)):
        assert counter.take(k, window) == 1
    assert counter.take(k, window) == 2
    counter.hold(k, window)  # not full: no lock
    assert counter.take(k, window) == 3
    counter.hold(k, window)
    if isinstance(counter, RedisCounter):
        assert 295_000 < counter.redis.pttl(RedisCounter.PREFIX + k) <= 300_000
        return  # Redis keys expire on Redis's own clock: the rest is the database's
    free_at = counter.free_at(k, window)
    assert free_at is not None and timedelta(seconds=295) < free_at - clock.now() <= timedelta(seconds=300)
    with clock.shifted(timedelta(seconds=299)):
        assert counter.take(k, window) is None
    with clock.shifted(timedelta(seconds=301)):
        assert counter.take(k, window) == 1


def test_redis_keys_expire_with_their_window() -> None:
    counter, k = RedisCounter(REDIS_URL), key()
    assert counter.take(k, Window(2, 30)) == 1
    assert 0 < counter.redis.pttl(RedisCounter.PREFIX + k) <= 30_000
    counter.clear(k)


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_parallel_takes_never_exceed_the_limit(settings, backend: str) -> None:  # type: ignore[no-untyped-def]
    """20 threads × 3 takes against a limit of 25: exactly 25 succeed, on both backends."""
    app = create_app(settings.replace(ratelimit={"backend": backend, "redis_url": REDIS_URL}))
    k, window = key(), Window(25, 60)
    barrier = threading.Barrier(20)
    taken: list[int | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                counter = app.extensions["idp.counter"]
                barrier.wait(10)
                for _ in range(3):
                    taken.append(counter.take(k, window))
                    db.session.commit()  # as its callers do, before any slow work
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(n for n in taken if n is not None) == list(range(1, 26))
    assert taken.count(None) == 35
    with app.app_context():
        app.extensions["idp.counter"].clear(k)
        db.session.commit()
        db.engine.dispose()
