"""The durable job runner: work that outlives the request (mail, back-channel logout).

    enqueue()  ──(same transaction as the change)──►  row: due
    a queue's thread (woken after that commit, and every poll) claims it:
      claimed_until = now + lease, attempts + 1 — one conditional UPDATE: one process wins
        ├─ handler returns ──► done_at set (the handler may shrink the payload)
        └─ handler raises ──► next_attempt_at = now + base·2^(attempts-1) (capped), claim
                               released; at max_attempts (if any) it has failed: done_at
                               set, last_error kept (done_at and last_error both set mean
                               failed), so it is purged after the retention like a done job
      a process that dies holding a claim loses it when the lease ends; polling picks the
      row up again, also after a restart.

One table and one claim protocol for every kind of job; each kind is a *queue* served by
threads of its own (``Queue.workers``, one by default), so a slow back-channel endpoint
never holds up a reset link. A job is never lost (it is a row before anything is tried)
and runs in one process at a time; the window between the effect and marking it done is
the only chance of a second run, so handlers make their effect safe to repeat (a stable
Message-ID, an idempotent logout).

Packages register their queue in their own ``init_app`` (``mail.outbox``, ``oidc.logout``).

Periodic work is a *recurring* queue (``Queue.every_seconds``): one row per such queue,
made once by whichever process runs the queue first (``INSERT … ON CONFLICT (key) DO
NOTHING``: one row however many processes start), claimed like any job, and re-armed
``every_seconds`` later instead of being marked done. The claim protocol is what makes it
run once per interval across every process; a run that fails backs off like any job.

    maintenance (every jobs.maintenance_interval_seconds)
      each chore, in the order registered, each committing its own work:
        sessions: end SSO sessions past their idle or absolute limit whose browser never came
                  back (the normal end: events.session_ended, so tokens are revoked and
                  back-channel logouts queued)
        purges:   per table, ``DELETE … WHERE <primary key> IN (SELECT … WHERE <expired>
                  LIMIT PURGE_BATCH)``, each committed, at most PURGE_MAX_BATCHES per run

A package registers its own chores and purges in its ``init_app`` (``Runner.add_chore``,
``Runner.add_purge``), as it registers its queues: this module never imports the packages
whose rows it deletes. A failing chore is logged and the others still run. The claim is
renewed (a new lease, by the same conditional ``UPDATE``) before each chore, so a run as a
whole may take longer than ``jobs.claim_seconds`` without another process starting a
second one; a single chore must fit in one lease (purges are batch-bounded). A run whose
renewal fails (it lost its claim: the process stalled past its lease) stops there and
leaves the row to whoever holds it now. Were two runs to overlap anyway, it would be
harmless (a session is ended by a conditional ``UPDATE``, a purge deletes what is still
there). ``idp worker``
and the in-process runner (``jobs.run_in_process``) both serve the queue; tests run it with
``run_due()``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from flask import has_app_context
from sqlalchemy import JSON
from sqlalchemy import ColumnElement
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import Model
from idp.extensions import db
from idp.extensions import rowcount
from idp.settings import JobSettings

log = logging.getLogger("idp.jobs")

MAINTENANCE = "maintenance"
# Rows deleted per statement, and statements per table and run: a large backlog is worked
# off over several runs, never in one long transaction.
PURGE_BATCH = 1000
PURGE_MAX_BATCHES = 50


class Job(Model):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The queue's name on the one row of a recurring queue; None on every other job.
    key: Mapped[str | None] = mapped_column(String(32), unique=True)

    __table_args__ = (Index("ix_jobs_due", "queue", "done_at", "next_attempt_at"),)


# A handler does the job's work; it may return a smaller payload to keep once done.
Handler = Callable[[Job], "dict[str, Any] | None"]
# A chore of the maintenance run: does its work as of ``now``, commits it, says how many rows.
Chore = Callable[[datetime], int]


@dataclass(frozen=True)
class Queue:
    name: str
    handler: Handler
    # None: retried until it succeeds (mail must never be lost).
    max_attempts: int | None = None
    batch: int = 100
    # Threads serving the queue when started: several where one job may take long (a
    # back-channel call, up to its deadline), so that the queue's other jobs go on.
    workers: int = 1
    # Recurring: one row, run again this long after each run (module docstring).
    every_seconds: int | None = None


def _free(now: datetime) -> ColumnElement[bool]:
    """Not claimed, or claimed by a process whose lease has run out."""
    return or_(Job.claimed_until.is_(None), Job.claimed_until < now)


def enqueue(queue: str, payload: dict[str, Any]) -> Job:
    """Add a job to the current transaction; it runs only if that transaction commits."""
    now = clock.now()
    job = Job(queue=queue, payload=payload, created_at=now, next_attempt_at=now, attempts=0)
    db.session.add(job)
    db.session.info.setdefault("jobs_queued", set()).add(queue)
    return job


def purge(table: Table, expired: ColumnElement[bool]) -> int:
    """Delete ``table``'s rows matching ``expired``, PURGE_BATCH rows per committed statement
    (chosen by primary key), at most PURGE_MAX_BATCHES statements; return how many went."""
    keys = list(table.primary_key.columns)
    key = keys[0] if len(keys) == 1 else tuple_(*keys)
    total = 0
    for _ in range(PURGE_MAX_BATCHES):
        deleted = rowcount(delete(table).where(key.in_(select(*keys).where(expired).limit(PURGE_BATCH))))
        db.session.commit()
        total += deleted
        if deleted < PURGE_BATCH:
            break
    return total


_INSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def pending(queue: str) -> int:
    return int(
        db.session.scalar(select(func.count()).select_from(Job).where(Job.queue == queue, Job.done_at.is_(None))) or 0
    )


class Runner:
    """The queues of one application, and (when started) a thread per queue."""

    def __init__(self, app: Flask, settings: JobSettings) -> None:
        self.app = app
        self.settings = settings
        self.queues: dict[str, Queue] = {}
        self.chores: dict[str, Chore] = {}
        self._armed: set[str] = set()
        # The lease each running job holds now (by job id): renewals change it, and the
        # outcome is written only under the latest one.
        self._leases: dict[int, datetime] = {}
        self._wake: dict[str, threading.Event] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def register(self, queue: Queue) -> None:
        self.queues[queue.name] = queue
        self._wake[queue.name] = threading.Event()

    def add_chore(self, name: str, chore: Chore) -> None:
        """Run ``chore`` at each maintenance run (module docstring)."""
        self.chores[name] = chore

    def add_purge(self, table: Table, expired: Callable[[datetime], ColumnElement[bool]]) -> None:
        """At each maintenance run, delete the rows of ``table`` for which ``expired(now)`` holds."""
        self.add_chore(f"purge:{table.name}", lambda now: purge(table, expired(now)))

    def renew_claim(self, job_id: int) -> bool:
        """Extend the claim of a job this thread is running by a new lease from now, if the
        claim is still ours (committed at once); False when another process holds it now."""
        held = self._leases.get(job_id)
        if held is None:
            return False
        lease = clock.now() + timedelta(seconds=self.settings.claim_seconds)
        renewed = rowcount(update(Job).where(Job.id == job_id, Job.claimed_until == held).values(claimed_until=lease))
        db.session.commit()
        if renewed:
            self._leases[job_id] = lease
        return bool(renewed)

    def maintain(self, job: Job) -> dict[str, Any]:
        """The maintenance queue's handler: every chore, each on its own, the claim renewed
        before each one (module docstring)."""
        counts: dict[str, int] = {}
        job_id = job.id
        for name, chore in self.chores.items():
            if not self.renew_claim(job_id):
                log.warning("maintenance_lease_lost", extra={"chore": name})
                break
            try:
                counts[name] = chore(clock.now())
            except Exception:
                db.session.rollback()
                log.exception("maintenance_chore_failed", extra={"chore": name})
                continue
            if counts[name]:
                log.info("maintenance_chore_done", extra={"chore": name, "rows": counts[name]})
        return {"last_run": counts}

    def _arm(self, queue: Queue) -> None:
        """Make a recurring queue's one row, due now, unless a process already has."""
        now = clock.now()
        table = Job.__table__
        values = {"queue": queue.name, "key": queue.name, "payload": {}, "created_at": now, "next_attempt_at": now}
        insert = _INSERTS[db.engine.dialect.name](table).values(attempts=0, **values)
        db.session.execute(insert.on_conflict_do_nothing(index_elements=[table.c.key]))
        db.session.commit()
        self._armed.add(queue.name)

    def _backoff(self, attempts: int) -> timedelta:
        seconds = self.settings.retry_base_seconds * 2 ** max(0, attempts - 1)
        return timedelta(seconds=min(seconds, self.settings.retry_max_seconds))

    def run_due(self, queue: str | None = None) -> int:
        """Run what is due now, in this thread; return how many jobs were done (a recurring
        queue's run is not a job done: its row is re-armed)."""
        names = [queue] if queue is not None else list(self.queues)
        with self.app.app_context():
            try:
                return sum(self._run_queue(self.queues[name]) for name in names)
            finally:
                db.session.remove()

    def _run_queue(self, queue: Queue) -> int:
        if queue.every_seconds is not None and queue.name not in self._armed:
            self._arm(queue)
        now = clock.now()
        due = select(Job.id).where(
            Job.queue == queue.name, Job.done_at.is_(None), Job.next_attempt_at <= now, _free(now)
        )
        if queue.max_attempts is not None:
            due = due.where(Job.attempts < queue.max_attempts)
        ids = db.session.scalars(due.order_by(Job.id).limit(queue.batch)).all()
        db.session.commit()
        return sum(self._claim_and_run(queue, job_id) for job_id in ids)

    def _claim_and_run(self, queue: Queue, job_id: int) -> int:
        # The clock is read at each claim: a lease counted from the start of a long batch
        # could already be over when its job starts, and another process would run it too.
        now = clock.now()
        lease = now + timedelta(seconds=self.settings.claim_seconds)
        claim = update(Job).where(Job.id == job_id, Job.done_at.is_(None), _free(now))
        if queue.max_attempts is not None:
            claim = claim.where(Job.attempts < queue.max_attempts)
        claimed = rowcount(claim.values(claimed_until=lease, attempts=Job.attempts + 1))
        db.session.commit()
        return self._run_one(queue, job_id, lease) if claimed else 0

    def _run_one(self, queue: Queue, job_id: int, lease: datetime) -> int:
        job = db.session.get(Job, job_id)
        assert job is not None
        attempts = job.attempts
        self._leases[job_id] = lease
        try:
            kept = queue.handler(job)
        except Exception as exc:  # noqa: BLE001 - whatever a handler raises defers the job, retried later
            db.session.rollback()
            now = clock.now()
            error = f"{type(exc).__name__}: {exc}"[:500]
            outcome: dict[str, Any] = {"claimed_until": None, "last_error": error}
            failed = queue.max_attempts is not None and attempts >= queue.max_attempts
            if failed:  # no attempt left: done, and failed (last_error kept), purged in time
                outcome["done_at"] = now
            else:
                outcome["next_attempt_at"] = now + self._backoff(attempts)
            rowcount(update(Job).where(*self._ours(job_id)).values(**outcome))
            db.session.commit()
            # The error text may name a recipient or a URL: it stays in the row, not in the log.
            facts = {"queue": queue.name, "job_id": job_id, "attempts": attempts, "error_type": type(exc).__name__}
            log.warning("job_failed" if failed else "job_deferred", extra=facts)
            return 0
        values: dict[str, Any] = {"claimed_until": None, "last_error": None}
        if queue.every_seconds is None:
            values["done_at"] = clock.now()
        else:
            values.update(attempts=0, next_attempt_at=clock.now() + timedelta(seconds=queue.every_seconds))
        if kept is not None:
            values["payload"] = kept
        if not rowcount(update(Job).where(*self._ours(job_id)).values(**values)):
            log.warning("job_lease_lost", extra={"queue": queue.name, "job_id": job_id})
        db.session.commit()
        log.info("job_done", extra={"queue": queue.name, "job_id": job_id})
        return 1 if queue.every_seconds is None else 0

    def _ours(self, job_id: int) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """The outcome is written only while our claim holds (its latest lease is the
        claim's token): a job whose lease ran out belongs to whoever claimed it next."""
        return Job.id == job_id, Job.claimed_until == self._leases.pop(job_id)

    # --- threads ------------------------------------------------------------------------

    def kick(self, queue: str) -> None:
        if queue in self._wake:
            self._wake[queue].set()

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for name, queue in self.queues.items():
            for n in range(queue.workers):
                thread = threading.Thread(target=self._loop, args=(name,), name=f"idp-jobs-{name}-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for wake in self._wake.values():
            wake.set()
        for thread in self._threads:
            thread.join(10)
        self._threads = []

    def _loop(self, name: str) -> None:
        wake = self._wake[name]
        while not self._stop.is_set():
            wake.wait(self.settings.poll_seconds)
            wake.clear()
            if self._stop.is_set():
                break
            try:
                self.run_due(name)
            except Exception:
                log.exception("job_loop_failed", extra={"queue": name})  # survive a database hiccup


def runner() -> Runner:
    app_runner: Runner = current_app.extensions["idp.jobs"]
    return app_runner


def _after_commit(session: Session) -> None:
    queued = session.info.pop("jobs_queued", None)
    if queued and has_app_context():
        found: Runner | None = current_app.extensions.get("idp.jobs")
        if found is not None and found.settings.run_in_process:
            for queue in queued:
                found.kick(queue)


def _after_rollback(session: Session, _transaction: object) -> None:
    session.info.pop("jobs_queued", None)


def init_app(app: Flask, settings: JobSettings) -> Runner:
    app_runner = Runner(app, settings)
    app.extensions["idp.jobs"] = app_runner
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
    app_runner.register(Queue(MAINTENANCE, app_runner.maintain, every_seconds=settings.maintenance_interval_seconds))
    retention = timedelta(seconds=settings.done_retention_seconds)
    app_runner.add_purge(Job.__table__, lambda now: Job.done_at < now - retention)
    return app_runner
