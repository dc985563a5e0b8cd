"""Forgot login: same answer whether the email has an account; the login by email."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.conftest import TEST_CAPTCHA
from tests.conftest import Outbox
from tests.conftest import SmtpSink
from tests.conftest import csrf_token
from tests.conftest import text_of
from tests.factories import Person


@pytest.fixture
def settings_overrides(mail_settings) -> dict:  # type: ignore[no-untyped-def]
    return {"mail": mail_settings}


def ask(client: FlaskClient, email: str, lang: str = "fr"):  # type: ignore[no-untyped-def]
    page = client.get("/forgot-login", headers={"Accept-Language": lang})
    cid = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
    return client.post("/forgot-login", headers={"Accept-Language": lang}, data={
        "csrf_token": csrf_token(page.text), "email": email, "captcha_id": cid, "captcha": TEST_CAPTCHA})


def test_known_and_unknown_email_same_answer_and_the_login_by_mail(
    client: FlaskClient, paul: Person, outbox: Outbox, smtp: SmtpSink
) -> None:
    outbox.deliver()
    smtp.messages.clear()
    known = ask(client, paul.email.upper())
    unknown = ask(client, "nobody@example.test")
    mask = lambda html: re.sub(r'value="[^"]{20,}"', "", html)  # noqa: E731
    assert known.status_code == unknown.status_code == 200
    assert mask(known.text) == mask(unknown.text)
    assert "Confirmation de votre demande d" in known.text and "identifiant" in known.text
    outbox.deliver()
    [message] = smtp.messages
    assert message["To"] == paul.email and paul.login in text_of(message)
