"""Forgot password / first access: non-revealing request, 24 h single-use links (SEC-REC)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import clock
from idp.directory.models import Account
from idp.extensions import db
from idp.security import new_password
from tests import factories
from tests.conftest import TEST_CAPTCHA
from tests.conftest import AuthActions
from tests.conftest import Outbox
from tests.conftest import SmtpSink
from tests.conftest import csrf_token
from tests.conftest import link_in
from tests.factories import Person
from tests.helpers import mail_jobs

NEW = "Brand#New-Pass42"


@pytest.fixture
def settings_overrides(mail_settings) -> dict:  # type: ignore[no-untyped-def]
    return {"mail": mail_settings}


@pytest.fixture
def paul_quiet(paul: Person, outbox: Outbox, smtp: SmtpSink) -> Person:
    """Paul, with his access email already delivered and forgotten."""
    outbox.deliver()
    smtp.messages.clear()
    return paul


def ask(client: FlaskClient, login: str, lang: str = "en", answer: str = TEST_CAPTCHA):  # type: ignore[no-untyped-def]
    page = client.get("/forgot-password", headers={"Accept-Language": lang})
    captcha_id = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
    return client.post("/forgot-password", headers={"Accept-Language": lang}, data={
        "csrf_token": csrf_token(page.text), "login": login, "captcha_id": captcha_id, "captcha": answer})


def reset(client: FlaskClient, link: str, password: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}", headers={"Accept-Language": "en"})
    if page.status_code != 200:
        return page
    return client.post(f"/{path}", headers={"Accept-Language": "en"}, data={"csrf_token": csrf_token(page.text), "password": password,
                                         "confirm": password if confirm is None else confirm})


def _mask(html: str) -> str:
    return re.sub(r'value="[^"]{20,}"', 'value="X"', html)


def test_page_has_the_seed_wording(client: FlaskClient) -> None:
    fr = client.get("/forgot-password", headers={"Accept-Language": "fr"}).text
    for text in ("Personnalisation du mot de passe", "Identifiant", "Recopier les caractères",
                 "Charger une autre image", "Valider", "sous 24h"):
        assert text in fr
    en = client.get("/forgot-password", headers={"Accept-Language": "en"}).text
    assert "Password customization" in en and "Copy the characters" in en


def test_known_and_unknown_login_get_the_same_page_and_status(
    client: FlaskClient, paul_quiet: Person, app: Flask, outbox: Outbox, smtp: SmtpSink
) -> None:
    known = ask(client, paul_quiet.login)
    unknown = ask(client, "nobody.at.all")
    assert known.status_code == unknown.status_code == 200
    assert _mask(known.text) == _mask(unknown.text)
    assert sorted(known.headers.getlist("Set-Cookie")) == sorted(unknown.headers.getlist("Set-Cookie"))
    # Delivery never happens inside the request: the known login's email is only queued.
    assert [j.done_at for j in mail_jobs(app, "password-reset")] == [None]
    assert smtp.messages == []
    assert outbox.deliver() == 1
    [message] = smtp.to(paul_quiet.email)
    assert message["Subject"] == "Change of your password" or message["Subject"] == "Modification de votre mot de passe"


def test_unknown_login_spends_the_same_rendering_work(app: Flask, client: FlaskClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idp.mail import messages

    rendered: list[str] = []
    real = messages.render
    monkeypatch.setattr(messages, "render", lambda template, *a, **k: rendered.append(template) or real(template, *a, **k))
    ask(client, "nobody.at.all")
    assert rendered == ["password-reset"]


def test_link_sets_the_password_once_and_ends_every_session(
    app: Flask, client: FlaskClient, paul_quiet: Person, outbox: Outbox, smtp: SmtpSink
) -> None:
    other_browser = AuthActions(app.test_client())
    assert other_browser.login(paul_quiet.login, paul_quiet.password).status_code == 302
    ask(client, paul_quiet.login)
    outbox.deliver()
    link = link_in(smtp.to(paul_quiet.email)[0])
    done = reset(client, link, NEW)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert other_browser.client.get("/").status_code == 302  # the other session has ended
    assert AuthActions(app.test_client()).login(paul_quiet.login, NEW).status_code == 302
    again = reset(app.test_client(), link, "Another#Pass-77")
    assert again.status_code == 410
    outbox.deliver()
    assert [m["Subject"] for m in smtp.to(paul_quiet.email)][-1] in {"Your password has been changed",
                                                                      "Votre mot de passe a été changé"}


def test_weak_password_is_refused_with_the_unmet_rules(client: FlaskClient, paul_quiet: Person, outbox: Outbox,
                                                        smtp: SmtpSink) -> None:
    ask(client, paul_quiet.login)
    outbox.deliver()
    link = link_in(smtp.to(paul_quiet.email)[0])
    weak = reset(client, link, "abcdefg")
    assert weak.status_code == 400
    for rule in ("At least 8 characters", "At least 1 upper-case letter", "At least 1 digit",
                 "At least 1 special character"):
        assert rule in weak.text
    mismatch = reset(client, link, NEW, confirm=NEW + "x")
    assert mismatch.status_code == 400 and "The two passwords are different." in mismatch.text
    assert reset(client, link, NEW).status_code == 302  # the link survived the refusals


def test_link_expires_after_24_hours(client: FlaskClient, paul_quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    ask(client, paul_quiet.login)
    outbox.deliver()
    link = link_in(smtp.to(paul_quiet.email)[0])
    with clock.shifted(timedelta(hours=24, seconds=1)):
        assert reset(client, link, NEW).status_code == 410
    with clock.shifted(timedelta(hours=23, minutes=59)):
        assert reset(client, link, NEW).status_code == 302


def test_newer_link_replaces_the_older(client: FlaskClient, paul_quiet: Person, outbox: Outbox, smtp: SmtpSink) -> None:
    ask(client, paul_quiet.login)
    ask(client, paul_quiet.login)
    outbox.deliver()
    first, second = (link_in(m) for m in smtp.to(paul_quiet.email))
    assert reset(client, first, NEW).status_code == 410
    assert reset(client, second, NEW).status_code == 302


def test_password_change_kills_pending_links(app: Flask, client: FlaskClient, paul_quiet: Person, outbox: Outbox,
                                             smtp: SmtpSink) -> None:
    ask(client, paul_quiet.login)
    outbox.deliver()
    link = link_in(smtp.to(paul_quiet.email)[0])
    with clock.shifted(timedelta(seconds=1)), app.app_context():
        new_password.apply(db.session.get(Account, paul_quiet.account_id), "Changed#Else-99",
                           new_password.Reason.OPERATOR)
        db.session.commit()
    with clock.shifted(timedelta(seconds=2)):
        assert reset(client, link, NEW).status_code == 410


def test_link_dies_after_too_many_submissions(client: FlaskClient, paul_quiet: Person, outbox: Outbox,
                                              smtp: SmtpSink) -> None:
    ask(client, paul_quiet.login)
    outbox.deliver()
    link = link_in(smtp.to(paul_quiet.email)[0])
    for _ in range(5):
        assert reset(client, link, "weak").status_code == 400
    assert reset(client, link, NEW).status_code == 410


def test_reset_unlocks_a_locked_login(app: Flask, client: FlaskClient, paul_quiet: Person, outbox: Outbox,
                                      smtp: SmtpSink) -> None:
    attacker = AuthActions(app.test_client())
    for _ in range(10):
        attacker.login(paul_quiet.login, "Wrong#Guess-1")
    assert attacker.login(paul_quiet.login, paul_quiet.password).status_code == 429
    ask(client, paul_quiet.login)
    outbox.deliver()
    reset(client, link_in(smtp.to(paul_quiet.email)[0]), NEW)
    assert AuthActions(app.test_client()).login(paul_quiet.login, NEW).status_code == 302


def test_first_access_from_the_access_email(app: Flask, client: FlaskClient, outbox: Outbox, smtp: SmtpSink) -> None:
    with app.app_context():
        factories.contract_with_referent()
        julie = factories.member("OCB0000124", "julie.dupont", password=None)
    outbox.deliver()
    access = [m for m in smtp.to(julie.email) if "Cloud" in m["Subject"]][0]
    button = re.search(r"https?://[^/\s]+(/email/verify/\S+)", access.get_body(("plain",)).get_content())
    assert button, "the access email carries a proof link"
    # Following it proves the address, then leads to the password customization page.
    landing = client.get(button.group(1))
    assert landing.headers["Location"].endswith("/forgot-password?login=julie.dupont")
    page = client.get(landing.headers["Location"])
    assert 'value="julie.dupont"' in page.text
    ask(client, "julie.dupont")
    outbox.deliver()
    reset(client, link_in(smtp.to(julie.email)[-1]), NEW)
    assert AuthActions(app.test_client()).login("julie.dupont", NEW).status_code == 302


def test_request_without_csrf_is_refused(client: FlaskClient) -> None:
    assert client.post("/forgot-password", data={"login": "paul.dupont", "captcha": TEST_CAPTCHA}).status_code == 403
