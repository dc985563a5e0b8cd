"""Web login through HTTP: answers, CSRF, throttling, redirects, language (SEC-LOGIN, SEC-BF)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from idp import clock
from idp.security.audit import AuditEvent
from idp.extensions import db
from idp.sessions import SsoSession
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person


def _error_of(html: str) -> str:
    match = re.search(r'<p class="error form-error" role="alert" id="login-error">(.*?)</p>', html)
    return match.group(1) if match else ""


def _comparable(response) -> tuple:  # type: ignore[no-untyped-def]
    """Everything a client sees, minus the per-request CSRF token."""
    body = re.sub(r'value="[^"]{40,}"', 'value="TOKEN"', response.text)
    body = re.sub(r'(<input[^>]* name="login"[^>]* value=)"[^"]*"', r'\1"TYPED"', body)
    cookies = sorted(c.split("=")[0] for c in response.headers.getlist("Set-Cookie"))
    return response.status_code, body, cookies, response.headers.get("Location")


def _tags(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.tag).order_by(AuditEvent.id)))


def test_login_page_in_french_and_english(client: FlaskClient) -> None:
    fr = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert fr.status_code == 200
    for text in ("Bienvenue sur votre espace Client Cloud", "Merci de vous authentifier", ">Identifiant<",
                 ">Mot de passe<", "Se connecter", 'lang="fr"'):
        assert text in fr.text
    en = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    for text in ("Welcome to your Cloud Customer Area", ">Login<", ">Password<", "Sign in", 'lang="en"'):
        assert text in en.text


def test_every_field_has_a_label(client: FlaskClient) -> None:
    html = client.get("/login").text
    for field in ("login", "password"):
        assert f'<label for="{field}">' in html
        assert f'id="{field}"' in html


def test_referent_logs_in_and_lands_on_home(client: FlaskClient, auth: AuthActions, paul: Person, app: Flask) -> None:
    response = auth.login(paul.login, paul.password)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Paul DUPONT" in home.text and "OCB0000124" in home.text
    assert _tags(app)[-1] == "account:login:success"


def test_login_is_case_and_space_insensitive(auth: AuthActions, paul: Person) -> None:
    assert auth.login("  PAUL.Dupont ", paul.password).status_code == 302


def test_unknown_login_and_wrong_password_get_the_same_answer(auth: AuthActions, paul: Person, app: Flask) -> None:
    unknown = auth.login("nobody.here", "Wrong#Pass-1")
    wrong = auth.login(paul.login, "Wrong#Pass-1")
    no_password_yet = None
    with app.app_context():
        from tests.factories import member

        member("OCB0000124", "julie.dupont", password=None)
    no_password_yet = auth.login("julie.dupont", "Wrong#Pass-1")
    assert unknown.status_code == 401
    assert _error_of(unknown.text) == "Incorrect login or password."
    assert _comparable(unknown) == _comparable(wrong) == _comparable(no_password_yet)
    assert _tags(app).count("account:login:failure") == 3


def test_french_error_message(auth: AuthActions, paul: Person) -> None:
    response = auth.login(paul.login, "Wrong#Pass-1", lang="fr")
    assert _error_of(response.text) == "Identifiant ou mot de passe incorrect."


def test_post_without_csrf_token_is_refused(client: FlaskClient, paul: Person, app: Flask) -> None:
    client.get("/login")
    response = client.post("/login", data={"login": paul.login, "password": paul.password})
    assert response.status_code == 403
    assert not any(c.startswith("idp_session=") and "Max-Age=0" not in c for c in response.headers.getlist("Set-Cookie"))
    with app.app_context():
        assert db.session.scalar(select(SsoSession)) is None


def test_csrf_token_of_another_browser_is_refused(app: Flask, paul: Person) -> None:
    attacker, victim = app.test_client(), app.test_client()
    token = csrf_token(attacker.get("/login").text)
    victim.get("/login")
    response = victim.post("/login", data={"csrf_token": token, "login": paul.login, "password": paul.password})
    assert response.status_code == 403


def test_missing_fields_are_a_400_with_messages(client: FlaskClient) -> None:
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "login": "", "password": ""})
    assert response.status_code == 400
    assert response.text.count("Ce champ est obligatoire.") == 2  # French is the default


@pytest.fixture
def settings_overrides() -> dict:
    return {"throttle": {"account_max_failures": 3, "account_lockout_seconds": 300, "address_max_failures": 8}}


def test_lockout_after_repeated_failures_then_expiry(auth: AuthActions, paul: Person, app: Flask) -> None:
    for _ in range(3):
        assert auth.login(paul.login, "Wrong#Pass-1").status_code == 401
    locked = auth.login(paul.login, paul.password)  # the right password, but locked
    assert locked.status_code == 429
    assert "Too many failed attempts" in _error_of(locked.text)
    assert "5 minute" in _error_of(locked.text)
    # Failures while locked do not extend the lock (SEC-BF-03).
    with clock.shifted(timedelta(seconds=200)):
        assert auth.login(paul.login, "Wrong#Pass-1").status_code == 429
    with clock.shifted(timedelta(seconds=301)):
        assert auth.login(paul.login, paul.password).status_code == 302
    tags = _tags(app)
    assert "account:login:locked" in tags
    with app.app_context():
        failure = db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "account:login:failure")).all()
        assert failure[-1].details["locked"] is True


def test_unknown_login_is_locked_the_same_way(auth: AuthActions) -> None:
    """The lock reveals nothing: logins that do not exist lock after as many failures."""
    for _ in range(3):
        assert auth.login("ghost.account", "Wrong#Pass-1").status_code == 401
    assert auth.login("ghost.account", "Wrong#Pass-1").status_code == 429


def test_success_resets_the_failure_count(auth: AuthActions, client: FlaskClient, paul: Person) -> None:
    for _ in range(5):
        assert auth.login(paul.login, "Wrong#Pass-1").status_code == 401
        assert auth.login(paul.login, paul.password).status_code == 302
        auth.logout()


def test_lock_is_per_login_not_for_everyone(auth: AuthActions, paul: Person, app: Flask) -> None:
    with app.app_context():
        from tests.factories import member

        pierre = member("OCB0000124", "pierre.dupont")
    for _ in range(3):
        auth.login(paul.login, "Wrong#Pass-1")
    assert auth.login(pierre.login, pierre.password).status_code == 302


def test_one_address_spraying_many_logins_is_locked(auth: AuthActions, paul: Person) -> None:
    for i in range(8):
        auth.login(f"sprayed.user{i}", "Wrong#Pass-1")
    assert auth.login(paul.login, paul.password).status_code == 429
    with clock.shifted(timedelta(seconds=901)):
        assert auth.login(paul.login, paul.password).status_code == 302


def test_forwarded_for_header_is_not_trusted_by_default(auth: AuthActions, client: FlaskClient) -> None:
    for i in range(8):
        page = client.get("/login")
        client.post("/login", data={"csrf_token": csrf_token(page.text), "login": f"spray.user{i}", "password": "x"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"})
    assert auth.login("another.user", "x").status_code == 429


def test_overlong_password_is_refused_without_hashing(auth: AuthActions, paul: Person) -> None:
    assert auth.login(paul.login, "A" * 5000).status_code == 401


def test_huge_body_is_refused(client: FlaskClient) -> None:
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "login": "x", "password": "p" * 200_000})
    assert response.status_code == 413


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_next_never_leaves_the_site(auth: AuthActions, paul: Person, target: str) -> None:
    response = auth.login(paul.login, paul.password, next=target)
    assert response.headers["Location"] == "/"


def test_next_keeps_local_paths(auth: AuthActions, paul: Person) -> None:
    assert auth.login(paul.login, paul.password, next="/somewhere?x=1").headers["Location"] == "/somewhere?x=1"


def test_language_switch_is_remembered_for_the_account(client: FlaskClient, auth: AuthActions, paul: Person, app: Flask) -> None:
    auth.login(paul.login, paul.password, lang="en")
    home = client.get("/")
    assert "Bonjour" in home.text  # the account prefers French
    client.post("/language", data={"csrf_token": csrf_token(home.text), "lang": "en", "next": "/"})
    assert "Hello" in client.get("/").text
    with app.app_context():
        from idp.directory.models import Account

        assert db.session.get(Account, paul.account_id).language == "en"


def test_a_refused_attempt_leaves_nothing_behind(auth: AuthActions, paul: Person, app: Flask) -> None:
    """An attacker whose own address is locked cannot keep a victim's failure window open:
    an attempt refused for its address takes nothing from (and holds nothing on) the login."""
    attacker = AuthActions(app.test_client())
    elsewhere = {"REMOTE_ADDR": "203.0.113.9"}
    for _ in range(2):  # the victim mistypes twice (limit 3)
        assert auth.login(paul.login, "Wrong#Pass-1").status_code == 401
    with clock.shifted(timedelta(minutes=1)):
        for i in range(8):  # the attacker's address locks itself on logins of its own
            attacker.client.environ_base.update(elsewhere)
            attacker.login(f"sprayed.user{i}", "Wrong#Pass-1")
    with clock.shifted(timedelta(minutes=14)):
        assert attacker.login(paul.login, "Wrong#Pass-1").status_code == 429  # refused: its address
    with clock.shifted(timedelta(minutes=16)):  # the victim's window has ended: one typo is one failure
        assert auth.login(paul.login, "Wrong#Pass-1").status_code == 401
        assert auth.login(paul.login, paul.password).status_code == 302


def test_a_right_password_counts_as_no_failure_even_if_the_request_fails_later(
    client: FlaskClient, auth: AuthActions, paul: Person
) -> None:
    """My account with the right current password but a refused new one, many times: the
    login is not locked (the check's success is committed before the request fails)."""
    assert auth.login(paul.login, paul.password).status_code == 302
    for _ in range(5):
        page = client.get("/account/password")
        answer = client.post("/account/password", data={"csrf_token": csrf_token(page.text), "current": paul.password,
                                                        "password": "weak", "confirm": "weak"})
        assert answer.status_code == 400
    auth.logout()
    assert auth.login(paul.login, paul.password).status_code == 302
