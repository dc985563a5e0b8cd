"""Expired rows of the security primitives, purged by the maintenance run (``jobs``):
verification codes, captcha challenges and rate counters whose window has passed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from flask import Flask

from idp.jobs import Runner
from idp.security.captcha import CaptchaChallenge
from idp.security.codes import VerificationCode
from idp.security.counters import RateCounter
from idp.settings import Settings


def longest_window(settings: Settings) -> int:
    """The longest counter window any setting names (``*_window_seconds``, ``*_lockout_seconds``):
    a counter row older than that counts nothing any more, whatever its key."""
    spans = [
        value
        for section in dataclasses.asdict(settings).values()
        for key, value in section.items()
        if isinstance(value, int) and key.endswith(("_window_seconds", "_lockout_seconds"))
    ]
    return max(spans, default=0)


def init_app(app: Flask, settings: Settings) -> None:
    runner: Runner = app.extensions["idp.jobs"]
    retention = timedelta(seconds=settings.jobs.expired_retention_seconds)
    runner.add_purge(VerificationCode.__table__, lambda now: VerificationCode.expires_at < now - retention)
    runner.add_purge(CaptchaChallenge.__table__, lambda now: CaptchaChallenge.expires_at < now)
    # A lockout moves a window's start, never past now: its end is at most one window away.
    horizon = max(retention, timedelta(seconds=longest_window(settings)))
    runner.add_purge(RateCounter.__table__, lambda now: RateCounter.window_started_at < now - horizon)
