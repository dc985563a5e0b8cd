"""The durable job runner (``idp.jobs``): one claim protocol, a thread per queue, back-off,
at most ``max_attempts`` for the queues that have one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from idp import clock
from idp import create_app
from idp import jobs
from idp.extensions import db
from idp.jobs import Job
from tests import factories
from tests.conftest import SmtpSink
from tests.helpers import mail_jobs


@pytest.fixture
def settings_overrides(mail_settings) -> dict:  # type: ignore[no-untyped-def]
    return {"mail": mail_settings}


@pytest.fixture
def live(settings) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app whose queues run in threads, woken after each commit (polling once an hour)."""
    app = create_app(settings.replace(jobs={"run_in_process": True, "poll_seconds": 3600}))
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    yield app
    app.extensions["idp.jobs"].stop()
    with app.app_context():
        db.engine.dispose()


def test_a_slow_queue_does_not_hold_up_mail(live: Flask, smtp: SmtpSink) -> None:
    """A job that takes long on one queue (a back-channel endpoint that answers slowly) leaves
    the mail queue's thread free: the access email goes out at once."""
    started, release = threading.Event(), threading.Event()

    def slow(job: Job) -> None:
        started.set()
        release.wait(20)

    runner = live.extensions["idp.jobs"]
    runner.register(jobs.Queue("slow", slow))
    runner.start()
    try:
        with live.app_context():
            jobs.enqueue("slow", {})
            db.session.commit()
            assert started.wait(10), "the slow job never started"
            factories.contract_with_referent()  # queues the access email, then commits
        began = time.monotonic()
        smtp.wait_for("paul.dupont@example.test", timeout=10)
        assert time.monotonic() - began < 5
    finally:
        release.set()


def test_failures_back_off_and_stop_at_max_attempts(app: Flask) -> None:
    calls: list[int] = []

    def failing(job: Job) -> None:
        calls.append(job.id)
        raise RuntimeError("endpoint down")

    runner = app.extensions["idp.jobs"]
    runner.register(jobs.Queue("flaky", failing, max_attempts=3))
    with app.app_context():
        job = jobs.enqueue("flaky", {"n": 1})
        db.session.commit()
        job_id = job.id
    assert runner.run_due("flaky") == 0 and len(calls) == 1
    assert runner.run_due("flaky") == 0 and len(calls) == 1  # backing off: not due yet
    for minutes in (10, 20, 30, 40):
        with clock.shifted(timedelta(minutes=minutes)):
            runner.run_due("flaky")
    assert len(calls) == 3  # then it has failed for good: done, its last error kept
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None and job.done_at is not None and job.attempts == 3 and job.claimed_until is None
        assert job.last_error == "RuntimeError: endpoint down"


def test_a_job_that_failed_for_good_is_purged_after_the_retention(app: Flask, settings) -> None:  # type: ignore[no-untyped-def]
    runner = app.extensions["idp.jobs"]
    runner.register(jobs.Queue("doomed", lambda job: 1 / 0, max_attempts=1))
    with app.app_context():
        jobs.enqueue("doomed", {})
        db.session.commit()
    runner.run_due("doomed")
    retention = timedelta(seconds=settings.jobs.done_retention_seconds)

    def left() -> list[Job]:
        with app.app_context():
            return list(db.session.scalars(db.select(Job).where(Job.queue == "doomed")))

    [failed] = left()
    assert failed.done_at is not None and failed.last_error == "ZeroDivisionError: division by zero"
    with clock.shifted(retention - timedelta(minutes=1)):
        runner.run_due(jobs.MAINTENANCE)
    assert len(left()) == 1  # kept for `idp outbox list` and the operator, like a done job
    with clock.shifted(retention + timedelta(minutes=10)):  # the next run (every 5 minutes)
        runner.run_due(jobs.MAINTENANCE)
    assert left() == []


def test_a_job_claimed_by_a_dead_process_is_run_again_after_the_lease(app: Flask, smtp: SmtpSink) -> None:
    with app.app_context():
        factories.contract_with_referent(offer="flexible-computing-advanced")  # one mail: no console access email
        [job] = db.session.scalars(db.select(Job)).all()
        job.claimed_until = clock.now() + timedelta(seconds=60)  # another process holds it, then dies
        db.session.commit()
    runner = app.extensions["idp.jobs"]
    assert runner.run_due() == 0
    with clock.shifted(timedelta(seconds=61)):
        assert runner.run_due() == 1
    assert len(smtp.to("paul.dupont@example.test")) == 1
    assert mail_jobs(app)[0].done_at is not None


def test_a_run_whose_lease_ran_out_does_not_overwrite_the_new_claim(app: Flask) -> None:
    """While a handler runs past its lease, another process claims the job: the first run's
    outcome is not written over the second claim (the lease is the claim's token)."""
    seen: list[int] = []

    def overtaken(job: Job) -> None:
        seen.append(job.id)
        with app.app_context():  # another process claims it meanwhile (our lease is over)
            db.session.execute(db.update(Job).where(Job.id == job.id)
                               .values(claimed_until=clock.now() + timedelta(minutes=5)))
            db.session.commit()

    runner = app.extensions["idp.jobs"]
    runner.register(jobs.Queue("overtaken", overtaken))
    with app.app_context():
        job = jobs.enqueue("overtaken", {})
        db.session.commit()
        job_id = job.id
    runner.run_due("overtaken")
    with app.app_context():
        row = db.session.get(Job, job_id)
        assert seen == [job_id] and row is not None
        assert row.done_at is None and row.claimed_until is not None  # left to the second claim
