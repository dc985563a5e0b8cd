"""``limits.steady``: the answer floor of the requests that must not tell, by their time,
whether they named someone (forgot password, forgot login, API-password steps)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from flask import Flask

from idp.selfservice.limits import steady


def _took(run) -> float:  # type: ignore[no-untyped-def]
    began = time.monotonic()
    run()
    return time.monotonic() - began


def test_a_quick_answer_waits_for_the_floor() -> None:
    def quick() -> None:
        with steady(0.05):
            pass

    assert _took(quick) >= 0.05


def test_a_slow_answer_waits_no_longer() -> None:
    def slow() -> None:
        with steady(0.02):
            time.sleep(0.06)

    assert 0.06 <= _took(slow) < 0.06 + 0.02  # the floor is counted from the start, not added


def test_an_error_waits_for_the_floor_too_and_goes_on() -> None:
    def failing() -> None:
        with steady(0.05):
            raise LookupError("unknown flow")

    began = time.monotonic()
    with pytest.raises(LookupError):
        failing()
    assert time.monotonic() - began >= 0.05


def test_as_a_decorator_with_the_floor_from_the_settings() -> None:
    app = Flask(__name__)
    app.config["IDP_SETTINGS"] = SimpleNamespace(selfservice=SimpleNamespace(answer_floor_ms=40))

    @steady()
    def view() -> str:
        return "same answer"

    with app.app_context():
        assert _took(view) >= 0.04 and view() == "same answer"
        assert _took(view) >= 0.04  # every call, not the first only
