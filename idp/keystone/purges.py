"""Expired Keystone tokens, purged by the maintenance run (``jobs``) once neither
``allow_expired`` (``api.allow_expired_window_seconds``) nor the retention can need them."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from idp.jobs import Runner
from idp.keystone.models import ApiToken
from idp.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    runner: Runner = app.extensions["idp.jobs"]
    seconds = max(settings.jobs.expired_retention_seconds, settings.api.allow_expired_window_seconds)
    kept = timedelta(seconds=seconds)
    runner.add_purge(ApiToken.__table__, lambda now: ApiToken.expires_at < now - kept)
