"""The transactional outbox: every email is a ``mail`` job (``idp.jobs``).

    enqueue()  ──(same transaction as the change)──►  job: due
    after commit the ``mail`` queue sends it through the transport; a failure is retried
    with back-off; once sent, the bodies are scrubbed (links and codes must not outlive
    delivery).

A message is never lost (it is a row before anything is tried) and is sent by one process
at a time. The gap between the server accepting it and our marking it sent is the only
window for a second delivery; the stable Message-ID lets receiving servers drop that duplicate.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from idp import jobs
from idp.jobs import Job
from idp.mail.messages import Rendered
from idp.mail.transports import Envelope
from idp.mail.transports import Transport
from idp.mail.transports import make_transport
from idp.settings import MailSettings

QUEUE = "mail"


def enqueue(rendered: Rendered) -> Job:
    """Add a message to the current transaction; it leaves only if that transaction commits."""
    return jobs.enqueue(
        QUEUE,
        {
            "template": rendered.template,
            "recipient": rendered.recipient,
            "locale": rendered.locale,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
        },
    )


def envelope(job: Job) -> Envelope:
    p = job.payload
    return Envelope(
        job.id, job.created_at, p["template"], p["recipient"], p["locale"], p["subject"], p["text"], p["html"]
    )


def _sender(transport: Transport) -> jobs.Handler:
    def send(job: Job) -> dict[str, Any]:
        transport.send(envelope(job))
        return {**job.payload, "text": "", "html": ""}  # links and codes do not outlive delivery

    return send


def summary(rows: list[Job]) -> list[dict[str, Any]]:
    """What operators see: never the bodies (they may hold links)."""
    return [
        {
            "id": j.id,
            "template": j.payload.get("template"),
            "recipient": j.payload.get("recipient"),
            "created_at": j.created_at,
            "attempts": j.attempts,
            "next_attempt_at": j.next_attempt_at,
            "sent_at": j.done_at,
            "last_error": j.last_error,
        }
        for j in rows
    ]


def init_app(app: Flask, settings: MailSettings) -> None:
    app.extensions["idp.jobs"].register(jobs.Queue(QUEUE, _sender(make_transport(settings))))
