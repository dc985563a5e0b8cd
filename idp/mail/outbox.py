"""The transactional outbox.

    enqueue()  ──(same transaction as the change)──►  row: pending
    after commit: kick() the dispatcher, which
      claims the row (claimed_until = now + lease, attempts + 1; one process wins)
        ├─ sent      → sent_at set, bodies scrubbed (a reset link must not outlive delivery)
        └─ failure   → next_attempt_at = now + base·2^(attempts-1) (capped), claim released
      a process that dies holding a claim loses it when the lease ends; polling picks the
      row up again, also after a restart.

A message is never lost (it is a row before anything is tried) and is sent by one process at
a time. The gap between the server accepting it and our marking it sent is the only window
for a second delivery; the stable Message-ID lets receiving servers drop that duplicate.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from flask import has_app_context
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import event
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import db
from idp.mail.messages import Rendered
from idp.mail.transports import Transport
from idp.mail.transports import make_transport
from idp.settings import MailSettings

log = logging.getLogger("idp.mail")


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))

    @property
    def message_id(self) -> str:
        return f"<outbox-{self.id}.{int(self.created_at.timestamp())}@idp>"


def enqueue(rendered: Rendered) -> OutboxMessage:
    """Add a message to the current transaction; it leaves only if that transaction commits."""
    now = clock.now()
    message = OutboxMessage(
        template=rendered.template, recipient=rendered.recipient, locale=rendered.locale,
        subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
        created_at=now, next_attempt_at=now, attempts=0,
    )
    db.session.add(message)
    db.session.info["outbox_pending"] = True
    return message


def _backoff(settings: MailSettings, attempts: int) -> timedelta:
    seconds = settings.retry_base_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


def deliver_due(transport: Transport, settings: MailSettings, limit: int = 100) -> int:
    """Send what is due now (inside an app context); return how many were sent."""
    now = clock.now()
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    sent = 0
    for message_id in due:
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.sent_at.is_(None),
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .values(claimed_until=now + timedelta(seconds=settings.claim_seconds),
                    attempts=OutboxMessage.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue  # another process has it
        message = db.session.get(OutboxMessage, message_id)
        assert message is not None
        try:
            transport.send(message)
        except Exception as exc:  # noqa: BLE001 - any failure means "try again later"
            retry_at = clock.now() + _backoff(settings, message.attempts)
            message.next_attempt_at = retry_at
            message.claimed_until = None
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            db.session.commit()
            log.warning("mail_deferred", extra={"outbox_id": message_id, "attempts": message.attempts,
                                                "error": message.last_error})
            continue
        message.sent_at = clock.now()
        message.claimed_until = None
        message.last_error = None
        message.body_text = message.body_html = ""  # links and codes do not outlive delivery
        db.session.commit()
        log.info("mail_sent", extra={"outbox_id": message_id, "template": message.template})
        sent += 1
    return sent


class Dispatcher:
    """Sends from a background thread of this process: woken after each commit that queued
    a message, and every ``poll_seconds`` anyway (retries, restarts, other processes)."""

    def __init__(self, app: Flask, settings: MailSettings) -> None:
        self.app = app
        self.settings = settings
        self.transport = make_transport(settings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="idp-mail", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def deliver_now(self) -> int:
        """Send due mail, then due back-channel logouts (the same durable-queue loop)."""
        from idp.oidc import logout

        with self.app.app_context():
            try:
                sent = deliver_due(self.transport, self.settings)
                return sent + logout.deliver_due()
            finally:
                db.session.remove()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.deliver_now()
            except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
                log.exception("mail_dispatch_failed")


def pending_count() -> int:
    return len(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None))).all())


def _after_commit(session: Session) -> None:
    if session.info.pop("outbox_pending", False) and has_app_context():
        dispatcher: Dispatcher | None = current_app.extensions.get("idp.mail")
        if dispatcher is not None and dispatcher.settings.dispatch_in_process:
            dispatcher.kick()


def _after_rollback(session: Session) -> None:
    session.info.pop("outbox_pending", None)


def init_app(app: Flask, settings: MailSettings) -> Dispatcher:
    dispatcher = Dispatcher(app, settings)
    app.extensions["idp.mail"] = dispatcher
    if not getattr(init_app, "_listening", False):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda session, _tx: _after_rollback(session))
        init_app._listening = True  # type: ignore[attr-defined]
    return dispatcher


def summary(rows: list[OutboxMessage]) -> list[dict[str, Any]]:
    """What operators see: never the bodies (they may hold links)."""
    return [
        {"id": m.id, "template": m.template, "recipient": m.recipient, "created_at": m.created_at,
         "attempts": m.attempts, "next_attempt_at": m.next_attempt_at, "sent_at": m.sent_at,
         "last_error": m.last_error}
        for m in rows
    ]
