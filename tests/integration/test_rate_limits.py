"""Abuse limits: per address and per target, shared counters (SEC-BF-06), and recovery that
nobody else can block: the per-address limit counts every request and answers 429; the
per-target limits count only requests that passed the captcha, per target and client
address and per target from all addresses (a larger total), and once reached answer the
ordinary confirmation and send nothing (audited), never a 429 only the victim would meet.
The requests that must not tell whom they named answer no sooner than a floor."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.security.audit import subject_hash
from idp.security.counters import RedisCounter
from tests.conftest import TEST_CAPTCHA
from tests.conftest import csrf_token
from tests.factories import Person
from tests.helpers import audit_rows
from tests.helpers import mail_jobs

PER_TARGET = 3
TOTAL = 5  # per target from all addresses
PAGES = {  # the request pages: their URL, the field naming the target, the mail a known target gets
    "forgot-password": ("/forgot-password", "login", "password-reset"),
    "forgot-login": ("/forgot-login", "email", "login-reminder"),
    "api-password": ("/api-password", "email", "verification-code"),
}


@pytest.fixture
def settings_overrides() -> dict:
    return {"selfservice": {"requests_per_target": PER_TARGET, "requests_per_target_total": TOTAL,
                            "requests_per_address": 5}}


def ask(client: FlaskClient, login: str, address: str = "127.0.0.1", page_name: str = "forgot-password",  # type: ignore[no-untyped-def]
        answer: str = TEST_CAPTCHA, took: list[float] | None = None):
    """Fill in and post a request page; ``took`` gets the time the POST took."""
    url, field, _ = PAGES[page_name]
    env = {"REMOTE_ADDR": address}
    page = client.get(url, headers={"Accept-Language": "en"}, environ_base=env)
    cid = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
    extra = {"company_account": "OCB0000124"} if page_name == "api-password" else {}
    began = time.monotonic()
    answered = client.post(url, headers={"Accept-Language": "en"}, environ_base=env, data={
        "csrf_token": csrf_token(page.text), field: login, "captcha_id": cid, "captcha": answer, **extra})
    if took is not None:
        took.append(time.monotonic() - began)
    return answered


def get_code(client: FlaskClient, step2_html: str, address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """API password step 2: the password twice, then *Get code*."""
    flow = re.search(r'name="flow" type="hidden" value="([^"]+)"', step2_html).group(1)
    return client.post("/api-password/new", headers={"Accept-Language": "en"}, environ_base={"REMOTE_ADDR": address},
                       data={
        "csrf_token": csrf_token(step2_html), "flow": flow, "password": "Api#Password-2026",
        "confirm": "Api#Password-2026", "action": "code"})


def target_of(person: Person, page_name: str) -> str:
    return person.login if page_name == "forgot-password" else person.email


def mails(app: Flask, page_name: str) -> int:
    return len(mail_jobs(app, PAGES[page_name][2]))


def send_to(client: FlaskClient, person: Person, page_name: str, address: str):  # type: ignore[no-untyped-def]
    """The owner's request with the right captcha, through to the mail (API password: *Get code*)."""
    answer = ask(client, target_of(person, page_name), address=address, page_name=page_name)
    if page_name == "api-password" and answer.status_code == 200:
        return answer, get_code(client, answer.text, address)
    return answer, answer


def mask(html: str) -> str:
    return re.sub(r'value="[^"]{20,}"', 'value="X"', html)


@pytest.mark.parametrize("page_name", list(PAGES))
def test_wrong_captchas_naming_someone_do_not_block_their_recovery(client: FlaskClient, paul: Person, app: Flask,
                                                                   page_name: str) -> None:
    target = target_of(paul, page_name)
    for i in range(5):  # more than the per-target limit, each from its own address
        wrong = ask(client, target, address=f"203.0.113.{i}", page_name=page_name, answer="WRONG")
        assert wrong.status_code == 400
    before = mails(app, page_name)
    answer, sent = send_to(client, paul, page_name, "198.51.100.1")
    assert answer.status_code == sent.status_code == 200, sent.text
    assert mails(app, page_name) == before + 1  # the owner's mail is queued


@pytest.mark.parametrize("page_name", list(PAGES))
def test_per_target_limit_answers_the_confirmation_and_sends_nothing(client: FlaskClient, paul: Person, app: Flask,
                                                                     page_name: str) -> None:
    """Per target and address, then per target from all addresses: over either, the same
    pages as ever and no mail."""
    target = target_of(paul, page_name)
    ordinary = []
    for _ in range(PER_TARGET):
        answer, sent = send_to(client, paul, page_name, "198.51.100.1")
        assert sent.status_code == 200
        ordinary.append((answer, sent))
    assert mails(app, page_name) == PER_TARGET

    def nothing_sent_from(address: str) -> None:
        before = mails(app, page_name)
        answer, sent = send_to(client, paul, page_name, address)
        assert answer.status_code == sent.status_code == 200
        assert mask(answer.text) == mask(ordinary[0][0].text) and mask(sent.text) == mask(ordinary[0][1].text)
        assert mails(app, page_name) == before  # nothing sent

    nothing_sent_from("198.51.100.1")  # this address's share is spent ...
    for i in range(2, 2 + TOTAL - PER_TARGET):  # ... not the others' (it counts no more towards the total)
        send_to(client, paul, page_name, f"198.51.100.{i}")
    assert mails(app, page_name) == TOTAL
    nothing_sent_from("198.51.100.99")  # the total per target, from every address
    rows = audit_rows(app, "selfservice:rate_limited")
    assert [row["limit"] for row in rows] == ["target", "target_total"]
    assert all(row == {"purpose": page_name, "limit": row["limit"], "subject": rows[0]["subject"]} for row in rows)
    with app.app_context():
        assert rows[0]["subject"] == subject_hash(f"OCB0000124:{target}" if page_name == "api-password" else target)
    other = ask(client, "other.login" if page_name == "forgot-password" else "other@example.test",
                address="198.51.100.1", page_name=page_name)
    assert other.status_code == 200


@pytest.mark.parametrize("page_name", list(PAGES))
def test_solved_captchas_from_one_address_do_not_block_the_owner(client: FlaskClient, paul: Person, app: Flask,
                                                                 page_name: str) -> None:
    """Five requests naming Paul with the right captcha, all from one address (more than the
    per-target limit): Paul's own request, from his address, still sends the mail."""
    for _ in range(5):
        answer, sent = send_to(client, paul, page_name, "203.0.113.66")
        assert answer.status_code == sent.status_code == 200
    before = mails(app, page_name)
    answer, sent = send_to(client, paul, page_name, "198.51.100.1")
    assert answer.status_code == sent.status_code == 200, sent.text
    assert mails(app, page_name) == before + 1  # the owner's mail is queued


@pytest.mark.parametrize("settings_overrides", [{"selfservice": {"answer_floor_ms": 200}}])
def test_request_pages_answer_no_sooner_than_the_floor(client: FlaskClient, paul: Person, app: Flask) -> None:
    """A request naming someone writes (a link, a mail job), one naming nobody does not: both
    take the floor, so time tells nothing. The forms themselves (GET) are not held back."""
    took: list[float] = []
    for page_name in PAGES:
        for target in (target_of(paul, page_name), "nobody.else" if page_name == "forgot-password" else "no@a.test"):
            assert ask(client, target, page_name=page_name, took=took).status_code == 200
    assert ask(client, paul.login, answer="WRONG", took=took).status_code == 400
    assert len(took) == 7 and min(took) >= 0.2, took
    began = time.monotonic()
    assert client.get("/forgot-password").status_code == 200
    assert time.monotonic() - began < 0.2


def test_per_address_limit(client: FlaskClient, app: Flask) -> None:
    for i in range(5):
        assert ask(client, f"login.number{i}").status_code == 200
    refused = ask(client, "login.number9")
    assert refused.status_code == 429
    assert "Too many requests. Please try again in an hour." in refused.text
    assert ask(client, "login.number9", answer="WRONG", address="127.0.0.1").status_code == 429  # counted first
    assert [r["limit"] for r in audit_rows(app, "selfservice:rate_limited")] == ["address", "address"]


def test_app_uses_redis_when_configured(settings) -> None:  # type: ignore[no-untyped-def]
    from idp import create_app

    app = create_app(settings.replace(ratelimit={"backend": "redis"}))
    assert isinstance(app.extensions["idp.counter"], RedisCounter)
