"""API password reset (SPEC §5, guide §6.1.3–6.1.4) as a stored flow, web and JSON: step 1
(company account, email, captcha) opens a flow and mails nothing; step 2 names the flow:
the password twice, *Get code*, the code, *Next*. Step 2 answers alike whoever the flow
names, is limited per flow and per address, and applies the login rule only once the code
is accepted. Also the codes' rules: refused after 60 s, after use, after too many tries and
after a newer code; a code belongs to its flow, so another flow naming the same person can
neither replace nor burn it; a flow dies when the address switches or the password changes;
every answer comes no sooner than the floor."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from idp import clock
from idp.directory import console_users
from idp.extensions import db
from idp.security.codes import CodePurpose
from idp.security.codes import VerificationCode
from idp.security.tokens import token_hash
from idp.selfservice.api_password_flow import ApiPasswordFlow
from idp.selfservice.notifications import send_verification_code
from tests.conftest import TEST_CAPTCHA
from tests.conftest import Outbox
from tests.conftest import SmtpSink
from tests.conftest import csrf_token
from tests.conftest import text_of
from tests.factories import Person
from tests.helpers import audit_rows
from tests.helpers import mail_jobs

COMPANY = "OCB0000124"
NEW = "Api#Password-2026"
WITH_LOGIN = "paul.dupont#X2026"  # acceptable but for "different from your login"
OLD = "Old#Api-Password-25"
EN = {"Accept-Language": "en"}
FLOOR_MS = 200  # a request here takes a few milliseconds without the floor


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


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def env(address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": address}


def step1(client: FlaskClient, email: str, company: str = COMPANY, address: str = "127.0.0.1",  # type: ignore[no-untyped-def]
          answer: str = TEST_CAPTCHA, lang: str = "en"):
    page = client.get(f"/api-password?company_account={company}", headers={"Accept-Language": lang},
                      environ_base=env(address))
    captcha_id = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
    return client.post("/api-password", headers={"Accept-Language": lang}, environ_base=env(address), data={
        "csrf_token": csrf_token(page.text), "company_account": company, "email": email,
        "captcha_id": captcha_id, "captcha": answer})


def flow_of(html: str) -> str:
    return re.search(r'name="flow" type="hidden" value="([^"]+)"', html).group(1)


def step2(client: FlaskClient, html: str, action: str, code: str = "", password: str = NEW,  # type: ignore[no-untyped-def]
          confirm: str | None = None, address: str = "127.0.0.1", flow: str | None = None):
    return client.post("/api-password/new", headers=EN, environ_base=env(address), data={
        "csrf_token": csrf_token(html), "flow": flow or flow_of(html), "company_account": COMPANY,
        "password": password, "confirm": password if confirm is None else confirm, "code": code, "action": action})


def mask(html: str) -> str:
    """A page without its per-request values (CSRF token, flow id, captcha id)."""
    return re.sub(r'value="[^"]{20,}"', 'value="X"', html)


def errors_of(html: str, field: str) -> list[str]:
    """The error messages shown next to one field."""
    match = re.search(rf'id="{field}-error">(.*?)</(p|ul)>', html, re.S)
    return [m.strip() for m in re.findall(r"(?:<li>)?([^<]+)(?:</li>)?", match.group(1)) if m.strip()] if match else []


def known_and_unknown(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    """Step 2 pages of a flow naming Paul and of one naming nobody."""
    known, unknown = step1(client, email), step1(client, "nobody@example.test")
    assert known.status_code == unknown.status_code == 200
    return known.text, unknown.text


def keystone_token(client: FlaskClient, login: str, password: str) -> str:
    response = client.post("/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": login, "password": password, "domain": {"name": COMPANY}}}}}})
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def test_web_reset_in_the_guides_order(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink,
                                       app: Flask) -> None:
    with app.app_context():
        console_users.set_api_password(console_users.for_login(COMPANY, quiet.login), OLD)
        db.session.commit()
    token = keystone_token(client, quiet.login, OLD)
    outbox.deliver()
    smtp.messages.clear()
    page = step1(client, quiet.email)
    assert page.status_code == 200 and 'value="code"' in page.text and 'name="code"' not in page.text
    assert outbox.deliver() == 0  # step 1 mails nothing
    sent = step2(client, page.text, "code")
    assert sent.status_code == 200 and "60 seconds" in sent.text and NEW not in sent.text
    done = step2(client, sent.text, "next", code_from(outbox, smtp))
    assert done.status_code == 200 and "API password has been set" in done.text, done.text
    with app.app_context():
        user = console_users.for_login(COMPANY, quiet.login)
        assert user.api_password_hash and user.api_password_level == "strong"
    outbox.deliver()
    assert "mot de passe API" in smtp.messages[-1]["Subject"]  # Paul reads French
    ended = client.get("/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert ended.status_code == 401  # the user's Keystone tokens end with the old password
    replay = step2(client, sent.text, "next", "123456", password="Other#Password-27")
    assert replay.status_code == 404 and "start again" in replay.text  # the flow is used


def test_step1_same_answer_for_everyone_and_no_mail(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                    smtp: SmtpSink) -> None:
    known = step1(client, quiet.email)
    unknown = step1(client, "nobody@example.test")
    other = step1(client, quiet.email, company="OCB0000999")
    assert known.status_code == unknown.status_code == other.status_code == 200
    assert mask(known.text) == mask(unknown.text) == mask(other.text.replace("OCB0000999", COMPANY))
    assert outbox.deliver() == 0


def test_get_code_same_answer_and_a_code_only_for_a_console_user(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                                 smtp: SmtpSink) -> None:
    known, unknown = known_and_unknown(client, quiet.email)
    a, b = step2(client, known, "code"), step2(client, unknown, "code")
    assert a.status_code == b.status_code == 200
    assert mask(a.text) == mask(b.text)
    assert outbox.deliver() == 1 and smtp.messages[0]["To"] == quiet.email


def test_a_typed_password_is_never_written_back_into_a_page(client: FlaskClient, quiet: Person) -> None:
    known, _ = known_and_unknown(client, quiet.email)
    answer = step2(client, known, "code")
    assert answer.status_code == 200 and 'id="code"' in answer.text
    assert NEW not in answer.text  # the page's script keeps what was typed, in the browser
    assert "js/get-code.js" in answer.text


def test_step2_answers_alike_whoever_the_flow_names(client: FlaskClient, quiet: Person, app: Flask) -> None:
    """A password containing the login, before any code is accepted, and a wrong code: the
    same status and page for a flow naming Paul and one naming nobody (web and JSON)."""
    known, unknown = known_and_unknown(client, quiet.email)
    for html in (known, unknown):
        assert step2(client, html, "code").status_code == 200
    for password, code in ((WITH_LOGIN, "123456"), (NEW, "123456"), (WITH_LOGIN, "")):
        a = step2(client, known, "next", code, password=password)
        b = step2(client, unknown, "next", code, password=password)
        assert a.status_code == b.status_code == 400
        assert mask(a.text) == mask(b.text)
        assert errors_of(a.text, "code") == ["The verification code is wrong, used or expired. Ask for a new one."
                                             if code else "This field is required."]
        assert errors_of(a.text, "password") == []  # the login rule waits for an accepted code
    flows = {}
    for name, email in (("known", quiet.email), ("unknown", "nobody@example.test")):
        challenge = client.post("/v3.0/api-password/captchas").json["captcha_id"]
        flows[name] = client.post("/v3.0/api-password/flows", json={
            "company_account": COMPANY, "email": email, "captcha_id": challenge, "captcha": TEST_CAPTCHA}).json
    assert flows["known"].keys() == flows["unknown"].keys() == {"flow"}
    answers = {name: [client.post(f"/v3.0/api-password/flows/{f['flow']['id']}/code")] for name, f in flows.items()}
    for name, f in flows.items():
        for body in ({"password": WITH_LOGIN, "confirm": WITH_LOGIN, "code": "123456"},
                     {"password": NEW, "confirm": NEW, "code": "123456"}):
            answers[name].append(client.post(f"/v3.0/api-password/flows/{f['flow']['id']}", json=body))
    assert [(r.status_code, r.json) for r in answers["known"]] == [(r.status_code, r.json) for r in answers["unknown"]]
    assert [r.status_code for r in answers["known"]] == [202, 400, 400]


def test_login_rule_only_after_the_code_then_no_new_code(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                         smtp: SmtpSink, app: Flask) -> None:
    page = step1(client, quiet.email)
    sent = step2(client, page.text, "code", password=WITH_LOGIN)
    code = code_from(outbox, smtp)
    refused = step2(client, sent.text, "next", code, password=WITH_LOGIN)
    assert refused.status_code == 400 and errors_of(refused.text, "password") == ["Different from your login"]
    assert 'name="code"' not in refused.text and "no new code is needed" in refused.text
    done = step2(client, refused.text, "next", password=NEW)  # no code: the flow is verified
    assert done.status_code == 200 and "API password has been set" in done.text
    assert outbox.deliver() == 1 and "code" not in smtp.messages[-1]["Subject"].lower()  # the confirmation only


def test_step2_is_limited_per_flow(client: FlaskClient, quiet: Person, app: Flask) -> None:
    attempts = app.config["IDP_SETTINGS"].selfservice.api_password_flow_attempts
    known, unknown = known_and_unknown(client, quiet.email)
    for i in range(attempts):
        a = step2(client, known, "next", f"{i:06d}", address=f"198.51.100.{i}")
        b = step2(client, unknown, "next", f"{i:06d}", address=f"198.51.100.{i}")
        assert a.status_code == b.status_code == 400
    a, b = step2(client, known, "next", "1", address="198.51.100.99"), step2(client, unknown, "next", "1",
                                                                             address="198.51.100.99")
    assert a.status_code == b.status_code == 404 and mask(a.text) == mask(b.text)
    codes = app.config["IDP_SETTINGS"].selfservice.api_password_flow_codes
    known, unknown = known_and_unknown(client, quiet.email)
    for _ in range(codes):
        assert step2(client, known, "code").status_code == step2(client, unknown, "code").status_code == 200
    a, b = step2(client, known, "code"), step2(client, unknown, "code")
    assert a.status_code == b.status_code == 429 and mask(a.text) == mask(b.text)
    assert len(mail_jobs(app, "verification-code")) == codes


def test_step2_is_limited_per_address(client: FlaskClient, quiet: Person, app: Flask) -> None:
    per_address = app.config["IDP_SETTINGS"].selfservice.requests_per_address
    pages = [step1(client, quiet.email, address=f"192.0.2.{i}").text for i in range(3)]
    for i in range(per_address):
        assert step2(client, pages[i % 3], "next", "123456", address="203.0.113.7", password=f"x{i}").status_code == 400
    refused = step2(client, pages[0], "next", "123456", address="203.0.113.7")
    assert refused.status_code == 429 and "Too many requests" in refused.text
    assert step2(client, pages[0], "code", address="203.0.113.7").status_code == 429  # Get code too
    assert step2(client, pages[0], "code", address="203.0.113.8").status_code == 200  # another address
    assert any(r.get("limit") == "address" for r in audit_rows(app, "selfservice:rate_limited"))


def test_flow_expires(client: FlaskClient, quiet: Person, app: Flask) -> None:
    page = step1(client, quiet.email)
    with clock.shifted(timedelta(seconds=app.config["IDP_SETTINGS"].selfservice.api_password_flow_seconds + 1)):
        assert step2(client, page.text, "code").status_code == 404
        assert step2(client, page.text, "next", "123456").status_code == 404
    assert step2(client, page.text, "next", "123456", flow="not-a-flow").status_code == 404


def test_the_flow_stores_only_a_hash_of_its_id(client: FlaskClient, quiet: Person, app: Flask) -> None:
    flow = flow_of(step1(client, quiet.email).text)
    with app.app_context():
        [row] = db.session.execute(select(ApiPasswordFlow.__table__)).mappings().all()
    assert row["id_hash"] == token_hash(flow) and row["console_user_id"] is not None
    assert not [name for name, value in row.items() if flow in str(value)]  # the id itself is nowhere


def test_code_refused_after_60_seconds(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    sent = step2(client, step1(client, quiet.email).text, "code")
    code = code_from(outbox, smtp)
    with clock.shifted(timedelta(seconds=61)):
        late = step2(client, sent.text, "next", code)
    assert late.status_code == 400 and "expired" in late.text


def test_code_refused_after_a_newer_code(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink,
                                         app: Flask) -> None:
    sent = step2(client, step1(client, quiet.email).text, "code")
    older = newer = code_from(outbox, smtp)
    for _ in range(app.config["IDP_SETTINGS"].selfservice.api_password_flow_codes - 1):  # 1 in 10⁶ to need two
        step2(client, sent.text, "code")
        newer = code_from(outbox, smtp)
        if newer != older:
            break
    assert newer != older
    assert step2(client, sent.text, "next", older).status_code == 400
    assert step2(client, sent.text, "next", newer).status_code == 200


def test_code_refused_after_too_many_tries(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    sent = step2(client, step1(client, quiet.email).text, "code")
    code = code_from(outbox, smtp)
    for _ in range(3):
        assert step2(client, sent.text, "next", wrong(code)).status_code == 400
    assert step2(client, sent.text, "next", code).status_code == 400  # the right code, too late


def test_policy_errors_do_not_spend_a_try(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    page = step1(client, quiet.email)
    weak = step2(client, page.text, "code", password="weak")
    assert weak.status_code == 400 and "8 characters" in weak.text and outbox.deliver() == 0  # no code for a typo
    sent = step2(client, page.text, "code")
    code = code_from(outbox, smtp)
    for _ in range(3):
        weak = step2(client, sent.text, "next", code, password="weak")
        assert weak.status_code == 400 and "8 characters" in weak.text
    assert step2(client, sent.text, "next", code, confirm="Different#Pass-99").status_code == 400
    assert step2(client, sent.text, "next", code).status_code == 200


def test_another_flow_naming_paul_can_neither_replace_nor_burn_his_code(client: FlaskClient, quiet: Person,
                                                                       outbox: Outbox, smtp: SmtpSink,
                                                                       app: Flask) -> None:
    """Anyone who solves one captcha can open a flow naming Paul: its *Get code* and its wrong
    codes touch that flow's code only, and Paul's code, asked for in his own flow, still works."""
    mine = step2(client, step1(client, quiet.email).text, "code")
    code = code_from(outbox, smtp)
    attacker = app.test_client()
    theirs = step1(attacker, quiet.email, address="203.0.113.66").text
    assert step2(attacker, theirs, "code", address="203.0.113.66").status_code == 200  # a code to Paul, for that flow
    for _ in range(3):
        assert step2(attacker, theirs, "next", wrong(code), address="203.0.113.66").status_code == 400
    done = step2(client, mine.text, "next", code)
    assert done.status_code == 200 and "API password has been set" in done.text


def test_a_code_works_only_in_the_flow_it_was_sent_for(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                       smtp: SmtpSink) -> None:
    first, second = step1(client, quiet.email).text, step1(client, quiet.email).text
    step2(client, first, "code")
    code = code_from(outbox, smtp)
    assert step2(client, second, "next", code).status_code == 400
    assert step2(client, first, "next", code).status_code == 200


def verified_flow(client: FlaskClient, email: str, outbox: Outbox, smtp: SmtpSink) -> str:
    """Step 2's page of a flow whose code was accepted (the password, containing the login,
    refused after it): from there, a new password needs no code."""
    sent = step2(client, step1(client, email).text, "code", password=WITH_LOGIN)
    verified = step2(client, sent.text, "next", code_from(outbox, smtp), password=WITH_LOGIN)
    assert verified.status_code == 400 and "no new code is needed" in verified.text
    return verified.text


def mailed_link(outbox: Outbox, smtp: SmtpSink, to: str, path: str) -> str:
    outbox.deliver()
    [text] = [text_of(m) for m in smtp.messages if m["To"] == to and path in text_of(m)][-1:]
    return re.search(rf"https?://[^/\s]+({path}/[A-Za-z0-9_.-]+)", text).group(1)  # type: ignore[union-attr]


def press(browser: FlaskClient, path: str, **fields: str):  # type: ignore[no-untyped-def]
    """Open a mailed link's page and post its form, as a person would."""
    page = browser.get(path)
    assert page.status_code == 200, page.text[:300]
    return browser.post(path, data={"csrf_token": csrf_token(page.text), **fields})


def test_a_verified_flow_dies_when_the_email_switches(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                      smtp: SmtpSink, app: Flask) -> None:
    verified = verified_flow(client, quiet.email, outbox, smtp)
    pending = step2(client, step1(client, quiet.email).text, "code")  # a live code, not yet typed
    code = code_from(outbox, smtp)
    browser = app.test_client()
    page = browser.get("/login")
    assert browser.post("/login", data={"csrf_token": csrf_token(page.text), "login": quiet.login,
                                        "password": quiet.password}).status_code == 302
    page = browser.get("/account", headers=EN)
    new_email = "paul.elsewhere@example.test"
    changed = browser.post("/account", headers=EN, data={
        "csrf_token": csrf_token(page.text), "civility": "monsieur", "last_name": "Dupont", "first_name": "Paul",
        "email": new_email, "landline": "01 02 03 04 05", "mobile": "", "language": "fr",
        "current_password": quiet.password})
    assert changed.status_code == 302, changed.text
    alive = step2(client, verified, "next", password=WITH_LOGIN)  # alive and verified until the switch ...
    assert alive.status_code == 400 and "no new code is needed" in alive.text
    assert press(browser, mailed_link(outbox, smtp, new_email, "/email/confirm")).status_code == 200
    gone = step2(client, verified, "next", password=NEW)
    assert gone.status_code == 404 and "start again" in gone.text  # ... which ends it
    assert step2(client, pending.text, "next", code).status_code == 404  # and the flow the code was for
    with app.app_context():
        assert db.session.scalar(select(VerificationCode)) is None  # codes mailed to the old address die
        assert console_users.for_login(COMPANY, quiet.login).api_password_hash is None


def test_a_verified_flow_dies_when_the_password_is_reset(client: FlaskClient, quiet: Person, outbox: Outbox,
                                                         smtp: SmtpSink, app: Flask) -> None:
    verified = verified_flow(client, quiet.email, outbox, smtp)
    browser = app.test_client()
    page = browser.get("/forgot-password")
    asked = browser.post("/forgot-password", data={
        "csrf_token": csrf_token(page.text), "login": quiet.login, "captcha": TEST_CAPTCHA,
        "captcha_id": re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)})
    assert asked.status_code == 200
    taken_back = "Taken#Back-2026"
    reset = press(browser, mailed_link(outbox, smtp, quiet.email, "/reset-password"), password=taken_back,
                  confirm=taken_back)
    assert reset.status_code == 302
    gone = step2(client, verified, "next", password=NEW)
    assert gone.status_code == 404 and "start again" in gone.text
    with app.app_context():
        assert console_users.for_login(COMPANY, quiet.login).api_password_hash is None
    gone = client.post(f"/v3.0/api-password/flows/{flow_of(verified)}", json={"password": NEW, "confirm": NEW})
    assert gone.status_code == 404 and gone.json["error_code"] == "flow_expired"


@pytest.mark.parametrize("settings_overrides", [{"selfservice": {"answer_floor_ms": FLOOR_MS}}])
def test_every_step_answers_no_sooner_than_the_floor(client: FlaskClient, quiet: Person, app: Flask) -> None:
    """Whether a request names someone shows in its work (a code row, a mail job) but not in
    its time: step 1, *Get code* and *Next*, web and JSON, known or not, take the floor."""

    def timed(send, *args, **kwargs):  # type: ignore[no-untyped-def]
        began = time.monotonic()
        answer = send(*args, **kwargs)
        return answer, time.monotonic() - began

    for email in (quiet.email, "nobody@example.test"):
        page = client.get(f"/api-password?company_account={COMPANY}", headers=EN)
        cid = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
        form = {"csrf_token": csrf_token(page.text), "company_account": COMPANY, "email": email,
                "captcha_id": cid, "captcha": TEST_CAPTCHA}
        started, took = timed(client.post, "/api-password", headers=EN, data=form)
        assert started.status_code == 200 and took >= FLOOR_MS / 1000
        sent, took = timed(step2, client, started.text, "code")
        assert sent.status_code == 200 and took >= FLOOR_MS / 1000
        refused, took = timed(step2, client, sent.text, "next", "123456")
        assert refused.status_code == 400 and took >= FLOOR_MS / 1000
        challenge = client.post("/v3.0/api-password/captchas").json["captcha_id"]
        body = {"company_account": COMPANY, "email": email, "captcha_id": challenge, "captcha": TEST_CAPTCHA}
        flow, took = timed(client.post, "/v3.0/api-password/flows", json=body)
        assert flow.status_code == 201 and took >= FLOOR_MS / 1000
        url = f"/v3.0/api-password/flows/{flow.json['flow']['id']}"
        code, took = timed(client.post, url + "/code")
        assert code.status_code == 202 and took >= FLOOR_MS / 1000
        wrong_code, took = timed(client.post, url, json={"password": NEW, "confirm": NEW, "code": "123456"})
        assert wrong_code.status_code == 400 and took >= FLOOR_MS / 1000
    expired, took = timed(client.post, "/v3.0/api-password/flows/nope/code")
    assert expired.status_code == 404 and took >= FLOOR_MS / 1000


def test_codes_are_stored_as_hmac(app: Flask, quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    with app.test_request_context():
        send_verification_code(console_users.for_login(COMPANY, quiet.login), CodePurpose.ACCESS_KEY)
        db.session.commit()
        row = db.session.scalar(select(VerificationCode))
    code = code_from(outbox, smtp)
    assert code not in row.code_hmac and len(row.code_hmac) == 64


def test_json_reset(client: FlaskClient, quiet: Person, outbox: Outbox, smtp: SmtpSink, app: Flask) -> None:
    challenge = client.post("/v3.0/api-password/captchas").json["captcha_id"]
    bad = client.post("/v3.0/api-password/flows", json={"company_account": COMPANY, "email": quiet.email,
                                                         "captcha_id": challenge, "captcha": "WRONG"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == 400
    challenge = client.post("/v3.0/api-password/captchas").json["captcha_id"]
    started = client.post("/v3.0/api-password/flows", json={"company_account": COMPANY, "email": quiet.email,
                                                             "captcha_id": challenge, "captcha": TEST_CAPTCHA})
    assert started.status_code == 201 and started.json["flow"]["expires_at"]
    assert outbox.deliver() == 0
    url = f"/v3.0/api-password/flows/{started.json['flow']['id']}"
    assert client.post(url + "/code").status_code == 202
    code = code_from(outbox, smtp)
    body = {"code": code, "password": NEW, "confirm": NEW}
    assert client.post(url, json={**body, "password": "weak", "confirm": "weak"}).status_code == 400
    assert client.post(url, json={**body, "code": wrong(code)}).status_code == 400
    assert client.post(url, json=body).status_code == 204
    replay = client.post(url, json=body)
    assert replay.status_code == 404 and replay.json["error_code"] == "flow_expired"
    assert client.post("/v3.0/api-password/flows/nope/code").status_code == 404
    assert client.post(url, json={"nothing": 1}).json["error"]["code"] == 400
    assert client.post("/v3.0/api-password/flows", json={"company_account": "X", "email": "a@b", "captcha_id": "c",
                                                          "captcha": "d"}).status_code == 400
    with app.app_context():
        assert console_users.for_login(COMPANY, quiet.login).api_password_level == "strong"
