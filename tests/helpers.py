"""Helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from idp.extensions import db
from idp.jobs import Job
from idp.mail.outbox import QUEUE as MAIL_QUEUE
from idp.security.audit import AuditEvent


def mail_jobs(app: Flask, template: str | None = None) -> list[Job]:
    """The outbox's messages (jobs of the mail queue), oldest first, detached from the session."""
    with app.app_context():
        rows = [j for j in db.session.scalars(select(Job).where(Job.queue == MAIL_QUEUE).order_by(Job.id))
                if template is None or j.payload.get("template") == template]
        db.session.expunge_all()
        return rows


def audit_rows(app: Flask, tag: str) -> list[dict[str, Any]]:
    """The details of every audit row with that tag."""
    with app.app_context():
        return [dict(e.details) for e in db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag))]
