"""Disabled accounts, deleted by the maintenance run (``jobs``) once they have been kept
``jobs.disabled_account_retention_seconds`` for the audit trail (``directory.accounts``)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import Flask

from idp import jobs
from idp.directory import accounts
from idp.extensions import db
from idp.settings import Settings


def purge_disabled_accounts(disabled_before: datetime) -> int:
    """Batch by batch, each committed, at most ``jobs.PURGE_MAX_BATCHES`` batches per run."""
    total = 0
    for _ in range(jobs.PURGE_MAX_BATCHES):
        purged = accounts.purge_disabled(disabled_before, limit=accounts.PURGE_BATCH)
        db.session.commit()
        total += purged
        if purged < accounts.PURGE_BATCH:
            break
    return total


def init_app(app: Flask, settings: Settings) -> None:
    runner: jobs.Runner = app.extensions["idp.jobs"]
    kept = timedelta(seconds=settings.jobs.disabled_account_retention_seconds)
    runner.add_chore("purge:disabled-accounts", lambda now: purge_disabled_accounts(now - kept))
