"""Nothing sensitive reaches the logs or the audit trail; failures are counted under a burst."""

from __future__ import annotations

import io
import json
import logging
import threading

from flask import Flask
from sqlalchemy import select

from idp.audit import AuditEvent
from idp.extensions import db
from idp.observability import JsonFormatter
from idp.security.throttle import ThrottleCounter
from tests.conftest import AuthActions
from tests.factories import Person

TYPED_IN_LOGIN_FIELD = "My-Secret#Pass9"  # people type their password into the login field


def test_passwords_and_unknown_logins_stay_out_of_logs_and_audit(auth: AuthActions, paul: Person, app: Flask) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idp")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        auth.login(TYPED_IN_LOGIN_FIELD, "whatever")
        auth.login(paul.login, "Wrong#Guess-77")
        auth.login(paul.login, paul.password)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    logs = stream.getvalue()
    assert '"event": "account:login:success"' in logs  # the log did record the logins
    with app.app_context():
        audit = json.dumps([(e.tag, e.details, e.actor) for e in db.session.scalars(select(AuditEvent))])
        counters = " ".join(db.session.scalars(select(ThrottleCounter.key)))
    for secret in (TYPED_IN_LOGIN_FIELD, TYPED_IN_LOGIN_FIELD.casefold(), "Wrong#Guess-77", paul.password):
        assert secret not in logs
        assert secret not in audit
        assert secret.casefold() not in counters


def test_log_lines_cannot_be_forged_and_sensitive_fields_are_redacted() -> None:
    record = logging.LogRecord("idp.test", logging.INFO, __file__, 1, "user=%s", ("bob\n{\"level\": \"INFO\"}",), None)
    record.password = "hunter2"
    record.email = "bob@example.test"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["password"] == "[redacted]" and entry["email"] == "[redacted]"
    assert entry["message"].startswith("user=bob\n")


def test_parallel_failures_are_all_counted(app: Flask) -> None:
    """SEC-BF-07: 20 concurrent wrong passwords count 20, not 'everyone read 0'."""
    throttle = app.extensions["idp.throttle"]
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []

    def fail_twice() -> None:
        try:
            with app.app_context():
                barrier.wait(10)
                for _ in range(2):
                    throttle.fail("burst.target", "198.51.100.7")
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fail_twice) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    with app.app_context():
        login_key, address_key = throttle.keys("burst.target", "198.51.100.7")
        # 20 failures: the login locked at 10 (counter reset), then 10 more were counted.
        counters = {c.key: c for c in db.session.scalars(select(ThrottleCounter))}
        assert counters[address_key].failures == 20
        assert counters[login_key].locked_until is not None
