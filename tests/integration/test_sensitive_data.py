"""Nothing sensitive reaches the logs or the audit trail; failures are counted under a burst."""

from __future__ import annotations

import io
import json
import logging

from flask import Flask
from sqlalchemy import select

from idp.extensions import db
from idp.observability import JsonFormatter
from idp.security.audit import AuditEvent
from idp.security.counters import RateCounter
from tests.conftest import AuthActions
from tests.factories import Person
from tests.helpers import mail_jobs

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
        counters = " ".join(db.session.scalars(select(RateCounter.key)))
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


def test_api_secrets_stay_out_of_logs_audit_database_and_later_pages(client, auth: AuthActions, paul: Person,  # type: ignore[no-untyped-def]
                                                                     app: Flask) -> None:
    """No SK, API password or verification code in the logs, the audit trail, the stored
    rows, or any page after the one that shows the secret once."""
    import re

    from idp.directory import console_users
    from idp.directory.console_users import ConsoleUser
    from idp.iam.models import AccessKey
    from idp.keystone.models import ApiToken
    from idp.security.codes import VerificationCode
    from tests.conftest import csrf_token

    api_password = "Api#Password-2026"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idp")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with app.test_request_context():
            console_users.set_api_password(console_users.for_login("OCB0000124", paul.login), api_password)
            db.session.commit()
        auth.login(paul.login, paul.password)
        page = client.get("/my-credential")
        client.post("/my-credential", data={"csrf_token": csrf_token(page.text), "api_password": api_password,
                                            "action": "code"})
        [mail] = mail_jobs(app, "verification-code")  # queued (mail dispatch is off in these tests)
        code = re.search(r"^\s+(\d{6})\s*$", mail.payload["text"], re.M).group(1)
        created = client.post("/my-credential", data={"csrf_token": csrf_token(page.text), "api_password": api_password,
                                                      "code": code, "action": "create"})
        secret = re.search(r'id="new-secret"><code>([A-Za-z0-9]{40})</code>', created.text).group(1)
        later = client.get("/my-credential").text + client.get("/").text
        token = client.post("/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": paul.login, "password": api_password, "domain": {"name": "OCB0000124"}}}}}})
        listing = client.get("/v3.0/OS-CREDENTIAL/credentials",
                             headers={"X-Auth-Token": token.headers["X-Subject-Token"]}).text
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    with app.app_context():
        audit = json.dumps([(e.tag, e.details, e.actor) for e in db.session.scalars(select(AuditEvent))])
        rows = json.dumps([
            [(k.access, k.secret_encrypted) for k in db.session.scalars(select(AccessKey))],
            [(u.api_password_hash or "") for u in db.session.scalars(select(ConsoleUser))],
            [c.code_hmac for c in db.session.scalars(select(VerificationCode))],
            [t.token_hash for t in db.session.scalars(select(ApiToken))],
        ])
    assert "api:access_key:created" in audit  # the trail did record it
    for value in (secret, api_password, code, token.headers["X-Subject-Token"]):
        for where, text in (("logs", stream.getvalue()), ("audit", audit), ("rows", rows), ("later pages", later),
                            ("credentials API", listing)):
            assert value not in text, f"{value[:4]}… found in {where}"


def test_api_password_reset_secrets_stay_out_of_logs_audit_and_rows(client, paul: Person, app: Flask) -> None:  # type: ignore[no-untyped-def]
    """The reset flow's id, the new API password, the code and the typed email: only the
    person's pages and mail see them, never the logs, the audit trail or the stored rows
    (every column of every flow and code row, as stored: the flow row holds the id's
    SHA-256 and nothing else of it)."""
    import re

    import sqlalchemy as sa

    from idp.security.tokens import token_hash
    from tests.conftest import TEST_CAPTCHA
    from tests.conftest import csrf_token

    def stored_rows() -> list[dict[str, str]]:
        """Every column of every row of the flows and codes tables (flows first), as text."""
        with app.app_context():
            return [{name: str(value) for name, value in row._mapping.items()}
                    for table in ("api_password_flows", "verification_codes")
                    for row in db.session.execute(sa.text(f"SELECT * FROM {table}"))]  # noqa: S608 - fixed names

    api_password = "Api#Password-2026"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idp")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        page = client.get("/api-password")
        captcha_id = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
        step2 = client.post("/api-password", data={
            "csrf_token": csrf_token(page.text), "company_account": "OCB0000124", "email": paul.email,
            "captcha_id": captcha_id, "captcha": TEST_CAPTCHA})
        flow = re.search(r'name="flow" type="hidden" value="([^"]+)"', step2.text).group(1)
        fields = {"csrf_token": csrf_token(step2.text), "flow": flow, "password": api_password, "confirm": api_password}
        client.post("/api-password/new", data={**fields, "action": "code"})
        [mail] = mail_jobs(app, "verification-code")
        code = re.search(r"^\s+(\d{6})\s*$", mail.payload["text"], re.M).group(1)
        live = stored_rows()  # the flow and its code, before the submission
        assert len(live) == 2 and live[0]["id_hash"] == token_hash(flow)  # the flow, by its id's hash
        done = client.post("/api-password/new", data={**fields, "code": code, "action": "next"})
        assert done.status_code == 200, done.text
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    with app.app_context():
        audit = json.dumps([(e.tag, e.details, e.actor) for e in db.session.scalars(select(AuditEvent))])
    used = stored_rows()
    assert len(used) == 2 and used[0]["used_at"] != "None" and used[1]["used_at"] != "None"  # flow and code used
    assert "api:password:set" in audit  # the trail did record it
    for value in (flow, api_password, code, paul.email):
        for where, text in (("logs", stream.getvalue()), ("audit", audit)):
            assert value not in text, f"{value[:4]}… found in {where}"
        for row in live + used:  # no stored value is, or contains, what the person typed or got
            assert not any(value in cell for cell in row.values()), f"{value[:4]}… found in a stored row: {row}"
