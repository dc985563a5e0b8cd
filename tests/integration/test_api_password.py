"""API password reset with 60-second emailed codes (SPEC §5), web and JSON, and the codes'
rules: refused after 60 s, after use, after too many tries and after a newer code."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import clock
from idp.security.codes import CodePurpose
from idp.selfservice.notifications import send_verification_code
from idp.directory import console_users
from idp.extensions import db
from tests.conftest import TEST_CAPTCHA
from tests.conftest import Outbox
from tests.conftest import SmtpSink
from tests.conftest import csrf_token
from tests.conftest import text_of
from tests.factories import Person

COMPANY = "OCB0000124"
NEW = "Api#Password-2026"


@pytest.fixture
def settings_overrides(mail_settings) -> dict:  # type: ignore[no-untyped-def]
    return {"mail": mail_settings}


@pytest.fixture
def quiet(paul: Person, outbox: Outbox, smtp: SmtpSink) -> Person:
    outbox.deliver()
    smtp.messages.clear()
    return paul


def code_from(outbox: Outbox, smtp: SmtpSink) -> str:
    outbox.deliver()
    message = smtp.messages[-1]
    match = re.search(r"^\s+(\d{6})\s*$", text_of(message), re.M)
    assert match, text_of(message)
    return match.group(1)


def ask_code(client: FlaskClient, email: str, company: str = COMPANY, lang: str = "en"):  # type: ignore[no-untyped-def]
    page = client.get(f"/api-password?company_account={company}", headers={"Accept-Language": lang})
    captcha_id = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
    return client.post("/api-password", headers={"Accept-Language": lang}, data={
        "csrf_token": csrf_token(page.text), "company_account": company, "email": email,
        "captcha_id": captcha_id, "captcha": TEST_CAPTCHA})


def submit(client: FlaskClient, step2_html: str, code: str, password: str = NEW, confirm: str | None = None):  # type: ignore[no-untyped-def]
    fields = dict(re.findall(r'name="(company_account|email)" type="hidden" value="([^"]*)"', step2_html))
    return client.post("/api-password/new", headers={"Accept-Language": "en"}, data={
        "csrf_token": csrf_token(step2_html), **fields, "password": password,
        "confirm": password if confirm is None else confirm, "code": code})


def test_web_reset_sets_the_api_password(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink,
                                         app: Flask) -> None:
    step2 = ask_code(client, quiet.email)
    assert step2.status_code == 200 and "60 seconds" in step2.text
    code = code_from(outbox, smtp)
    done = submit(client, step2.text, code)
    assert done.status_code == 200 and "API password has been set" in done.text, done.text
    with app.app_context():
        user = console_users.for_login(COMPANY, quiet.login)
        assert user.api_password_hash and user.api_password_level == "strong"
    outbox.deliver()
    assert "mot de passe API" in smtp.messages[-1]["Subject"]  # Paul reads French


def test_same_answer_for_unknown_people_and_no_mail(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                   smtp: SmtpSink) -> None:
    known = ask_code(client, quiet.email)
    unknown = ask_code(client, "nobody@example.test")
    other = ask_code(client, quiet.email, company="OCB0000999")
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731
    assert known.status_code == unknown.status_code == other.status_code == 200
    assert strip(known.text) == strip(unknown.text)  # nothing tells a known email from an unknown one
    assert outbox.deliver() == 1 and len(smtp.messages) == 1  # only the real one


def test_code_refused_after_60_seconds(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    step2 = ask_code(client, quiet.email)
    code = code_from(outbox, smtp)
    with clock.shifted(timedelta(seconds=61)):
        late = submit(client, step2.text, code)
    assert late.status_code == 400 and "expired" in late.text


def test_code_refused_after_use_and_after_a_newer_code(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                       smtp: SmtpSink) -> None:
    step2 = ask_code(client, quiet.email)
    first = code_from(outbox, smtp)
    assert submit(client, step2.text, first).status_code == 200
    assert submit(client, step2.text, first, password="Other#Password-27").status_code == 400  # used
    step2 = ask_code(client, quiet.email)
    older = code_from(outbox, smtp)
    ask_code(client, quiet.email)
    newer = code_from(outbox, smtp)
    assert submit(client, step2.text, older, password="Third#Password-28").status_code == 400
    assert submit(client, step2.text, newer, password="Third#Password-28").status_code == 200


def test_code_refused_after_too_many_tries(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    step2 = ask_code(client, quiet.email)
    code = code_from(outbox, smtp)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert submit(client, step2.text, wrong).status_code == 400
    assert submit(client, step2.text, code).status_code == 400  # the right code, too late


def test_policy_errors_do_not_spend_a_try(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    step2 = ask_code(client, quiet.email)
    code = code_from(outbox, smtp)
    for _ in range(4):
        weak = submit(client, step2.text, code, password="weak")
        assert weak.status_code == 400 and "8 characters" in weak.text
    assert submit(client, step2.text, code, confirm="Different#Pass-99").status_code == 400
    assert submit(client, step2.text, code).status_code == 200


def test_codes_are_stored_as_hmac(app: Flask, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    from sqlalchemy import select

    from idp.security.codes import VerificationCode

    with app.test_request_context():
        send_verification_code(console_users.for_login(COMPANY, quiet.login), CodePurpose.ACCESS_KEY)
        db.session.commit()
        row = db.session.scalar(select(VerificationCode))
    code = code_from(outbox, smtp)
    assert code not in row.code_hmac and len(row.code_hmac) == 64


def test_json_reset(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    challenge = client.post("/v3.0/api-password/captchas").json["captcha_id"]
    bad = client.post("/v3.0/api-password/codes", json={"company_account": COMPANY, "email": quiet.email,
                                                         "captcha_id": challenge, "captcha": "WRONG"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == 400
    challenge = client.post("/v3.0/api-password/captchas").json["captcha_id"]
    sent = client.post("/v3.0/api-password/codes", json={"company_account": COMPANY, "email": quiet.email,
                                                          "captcha_id": challenge, "captcha": TEST_CAPTCHA})
    assert sent.status_code == 202
    code = code_from(outbox, smtp)
    body = {"company_account": COMPANY, "email": quiet.email, "code": code, "password": NEW, "confirm": NEW}
    assert client.post("/v3.0/api-password", json={**body, "code": "999999" if code != "999999" else "1"}).status_code == 400
    assert client.post("/v3.0/api-password", json=body).status_code == 204
    assert client.post("/v3.0/api-password", json={"nothing": 1}).json["error"]["code"] == 400
