"""Expired rows of the self-service flows, purged by the maintenance run (``jobs``):
password links, email changes and API-password reset flows, once past
``jobs.expired_retention_seconds`` (until then an old link still answers "expired")."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from idp.jobs import Runner
from idp.selfservice.api_password_flow import ApiPasswordFlow
from idp.selfservice.email_change import EmailChange
from idp.selfservice.flows import PasswordLink
from idp.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    runner: Runner = app.extensions["idp.jobs"]
    retention = timedelta(seconds=settings.jobs.expired_retention_seconds)
    runner.add_purge(PasswordLink.__table__, lambda now: PasswordLink.expires_at < now - retention)
    runner.add_purge(EmailChange.__table__, lambda now: EmailChange.expires_at < now - retention)
    runner.add_purge(ApiPasswordFlow.__table__, lambda now: ApiPasswordFlow.expires_at < now - retention)
