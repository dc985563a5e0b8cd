"""The transactional outbox (mail jobs) against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask

from idp import clock
from idp import create_app
from idp.extensions import db
from idp.jobs import Job
from tests import factories
from tests.conftest import Outbox
from tests.conftest import SmtpSink
from tests.conftest import text_of
from tests.helpers import mail_jobs


@pytest.fixture
def settings_overrides(mail_settings) -> dict:  # type: ignore[no-untyped-def]
    return {"mail": mail_settings}


# A Flexible Computing Advanced contract: its referent has no console, so creating it queues
# exactly one email (the access email), which is what these tests count.
ACCESS_ONLY = "flexible-computing-advanced"


def _rows(app: Flask) -> list[Job]:
    return mail_jobs(app)


def test_message_is_committed_with_the_change_and_sent_once(app: Flask, smtp: SmtpSink, outbox: Outbox) -> None:
    with app.app_context():
        factories.contract_with_referent(offer=ACCESS_ONLY)  # creating the account queues the access email
    assert outbox.deliver() == 1
    assert outbox.deliver() == 0
    [message] = smtp.to("paul.dupont@example.test")
    assert message["Subject"] == "Votre accès à l'Espace Client Cloud"  # the recipient's language
    assert "paul.dupont" in text_of(message)
    assert message.get_body(preferencelist=("html",)) is not None
    [row] = _rows(app)
    assert row.done_at is not None and row.attempts == 1
    assert row.payload["text"] == "" and row.payload["html"] == ""  # links do not outlive delivery


def test_rolled_back_change_sends_nothing(app: Flask, smtp: SmtpSink, outbox: Outbox) -> None:
    with app.app_context():
        from idp.directory import service

        service.create_contract(contract_id="OCB0000124", name="SL_Prod", offer="flexible-engine",
                                company_name="ACME", referent=factories.identity("paul.dupont"))
        db.session.rollback()
    assert outbox.deliver() == 0 and smtp.messages == []
    assert _rows(app) == []


def test_smtp_down_keeps_the_change_and_delivers_once_when_back_after_a_restart(
    app: Flask, settings, smtp: SmtpSink, outbox: Outbox  # type: ignore[no-untyped-def]
) -> None:
    smtp.stop()  # the mail server is down during the request
    with app.app_context():
        factories.contract_with_referent(offer=ACCESS_ONLY)
    assert outbox.deliver() == 0
    [row] = _rows(app)
    assert row.done_at is None and row.attempts == 1 and "Error" in (row.last_error or "")
    assert row.next_attempt_at > row.created_at  # backed off
    smtp.start()
    assert outbox.deliver() == 0  # not due yet: the back-off holds
    # The process restarts (a new app, a new dispatcher); the server is back; time passes.
    restarted = create_app(settings)
    with clock.shifted(timedelta(seconds=11)):
        assert restarted.extensions["idp.jobs"].run_due() == 1
        assert restarted.extensions["idp.jobs"].run_due() == 0
    assert len(smtp.to("paul.dupont@example.test")) == 1
    with restarted.app_context():
        db.engine.dispose()


def test_two_dispatchers_racing_send_each_message_once(app: Flask, settings, smtp: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.contract_with_referent(offer=ACCESS_ONLY)
        for i in range(6):
            factories.member("OCB0000124", f"member.number{i}", password=None)
    others = [create_app(settings) for _ in range(3)]
    barrier = threading.Barrier(3)

    def run(other: Flask) -> None:
        barrier.wait(10)
        other.extensions["idp.jobs"].run_due()

    threads = [threading.Thread(target=run, args=(o,)) for o in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(smtp.messages) == 7
    assert len({m["Message-ID"] for m in smtp.messages}) == 7
    for other in others:
        with other.app_context():
            db.engine.dispose()


def test_dispatcher_thread_sends_right_after_commit(settings, smtp: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    live = create_app(settings.replace(jobs={"run_in_process": True, "poll_seconds": 3600}))
    live.extensions["idp.jobs"].start()
    try:
        with live.app_context():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
            factories.contract_with_referent()  # commit → kick; the poll alone would wait an hour
        smtp.wait_for("paul.dupont@example.test", timeout=10)
    finally:
        live.extensions["idp.jobs"].stop()
        with live.app_context():
            db.engine.dispose()


def test_file_transport_writes_eml_files(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings.replace(mail={"transport": "file", "outbox_dir": str(tmp_path / "mail")}))
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        factories.contract_with_referent(offer=ACCESS_ONLY)
    assert app.extensions["idp.jobs"].run_due() == 1
    [eml] = list((tmp_path / "mail").glob("*.eml"))
    assert b"To: paul.dupont@example.test" in eml.read_bytes()
    with app.app_context():
        db.engine.dispose()
