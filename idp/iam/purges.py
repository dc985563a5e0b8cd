"""Expired rows of the cloud IAM API, purged by the maintenance run (``jobs``): seen
signatures once outside the clock window, and expired temporary access keys."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from idp.iam.models import AccessKey
from idp.iam.models import SignatureSeen
from idp.jobs import Runner
from idp.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    runner: Runner = app.extensions["idp.jobs"]
    retention = timedelta(seconds=settings.jobs.expired_retention_seconds)
    # expires_at already covers the signature window: an older replay is refused for its date.
    runner.add_purge(SignatureSeen.__table__, lambda now: SignatureSeen.expires_at < now)
    # Permanent keys have no expiry (NULL never compares below a time).
    runner.add_purge(AccessKey.__table__, lambda now: AccessKey.expires_at < now - retention)
