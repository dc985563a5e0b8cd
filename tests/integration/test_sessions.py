"""SSO session: cookie flags, rotation, lifetimes, logout, rehash on login (SEC-SESS)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import argon2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from idp import clock
from idp import create_app
from idp.directory.models import Account
from idp.extensions import db
from idp.sessions import SsoSession
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.conftest import make_settings
from tests.factories import Person


def _cookie(response, name: str) -> str | None:  # type: ignore[no-untyped-def]
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    return None


def _value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def test_session_cookie_flags_in_development(auth: AuthActions, paul: Person) -> None:
    header = _cookie(auth.login(paul.login, paul.password), "idp_session")
    assert header is not None
    parts = [p.strip() for p in header.split(";")]
    assert "HttpOnly" in parts and "SameSite=Lax" in parts and "Path=/" in parts
    assert "Secure" not in parts  # plain http on a developer's machine
    assert not any(p.lower().startswith("domain=") for p in parts)


def test_session_cookie_is_secure_host_prefixed_in_production(migrated: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from idp.settings import build

    base = make_settings(migrated, tmp_path)
    prod = build({
        "server": {"environment": "production", "secret_key": secrets.token_urlsafe(48),
                   "issuer": "https://idp.example.com", "keys_dir": str(tmp_path)},
        "mail": {"transport": "smtp"},
        "database": {"url": migrated},
        "passwords": {"time_cost": 2, "memory_cost_kib": 19456},
        "logging": {"level": "WARNING"},
    })
    assert base.secure_cookies is False
    app = create_app(prod)
    with app.app_context():
        from tests.factories import contract_with_referent

        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        person = contract_with_referent()
    client = app.test_client()
    page = client.get("/login", base_url="https://idp.example.com")
    form_cookie = _cookie(page, "__Host-idp_form")
    assert form_cookie and "Secure" in form_cookie and "HttpOnly" in form_cookie
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    response = client.post(
        "/login", base_url="https://idp.example.com",
        headers={"Referer": "https://idp.example.com/login"},
        data={"csrf_token": csrf_token(page.text), "login": person.login, "password": person.password},
    )
    header = _cookie(response, "__Host-idp_session")
    assert response.status_code == 302 and header is not None
    parts = [p.strip() for p in header.split(";")]
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= set(parts)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_database_holds_only_a_hash_of_the_cookie(auth: AuthActions, paul: Person, app: Flask) -> None:
    token = _value(_cookie(auth.login(paul.login, paul.password), "idp_session") or "")
    with app.app_context():
        stored = db.session.scalars(select(SsoSession.id_hash)).one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_session_and_csrf_secret_rotate_at_login(client: FlaskClient, auth: AuthActions, paul: Person, app: Flask) -> None:
    first = _value(_cookie(auth.login(paul.login, paul.password), "idp_session") or "")
    page = client.get("/login?next=/", follow_redirects=False)
    assert page.status_code == 302  # already signed in
    # Logging in again (e.g. re-authentication) replaces the session; the old id is dead.
    token_before = csrf_token(client.get("/logout").text)
    response = client.post("/login", data={"csrf_token": token_before, "login": paul.login, "password": paul.password})
    second = _value(_cookie(response, "idp_session") or "")
    assert second and second != first
    attacker = app.test_client()
    attacker.set_cookie("idp_session", first)
    assert attacker.get("/").status_code == 302  # the old id opens nothing
    # The CSRF secret changed with the login: a token from before no longer works.
    stale = client.post("/logout", data={"csrf_token": token_before})
    assert stale.status_code == 403


def test_pre_login_cookie_cannot_be_fixed_on_a_victim(app: Flask, paul: Person) -> None:
    victim = app.test_client()
    victim.set_cookie("idp_session", "attacker-chosen-value")
    page = victim.get("/login")
    response = victim.post("/login", data={"csrf_token": csrf_token(page.text), "login": paul.login,
                                           "password": paul.password})
    assert _value(_cookie(response, "idp_session") or "") != "attacker-chosen-value"


def test_idle_timeout_ends_the_session(client: FlaskClient, auth: AuthActions, paul: Person, app: Flask) -> None:
    auth.login(paul.login, paul.password)
    with clock.shifted(timedelta(seconds=1799)):
        assert client.get("/").status_code == 200
    with clock.shifted(timedelta(seconds=1799 + 1801)):
        response = client.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/").status_code == 302  # ended for good, even back in time
    with app.app_context():
        assert db.session.scalars(select(SsoSession.ended_at)).one() is not None


def test_absolute_lifetime_ends_an_active_session(client: FlaskClient, auth: AuthActions, paul: Person) -> None:
    auth.login(paul.login, paul.password)
    for minutes in range(20, 12 * 60, 20):  # active every 20 minutes: never idle
        with clock.shifted(timedelta(minutes=minutes)):
            assert client.get("/").status_code == 200
    with clock.shifted(timedelta(hours=12, seconds=1)):
        assert client.get("/").status_code == 302


def test_logout_ends_the_session_and_clears_the_cookie(client: FlaskClient, auth: AuthActions, paul: Person, app: Flask) -> None:
    token = _value(_cookie(auth.login(paul.login, paul.password), "idp_session") or "")
    response = auth.logout()
    assert response.status_code == 302
    cleared = _cookie(response, "idp_session")
    assert cleared is not None and "Max-Age=0" in cleared
    replay = app.test_client()
    replay.set_cookie("idp_session", token)
    assert replay.get("/").status_code == 302
    assert "Vous êtes déconnecté." in client.get("/login").text


def test_logout_needs_csrf(client: FlaskClient, auth: AuthActions, paul: Person) -> None:
    auth.login(paul.login, paul.password)
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_disabled_account_loses_its_session(client: FlaskClient, auth: AuthActions, paul: Person, app: Flask) -> None:
    auth.login(paul.login, paul.password)
    with app.app_context():
        db.session.get(Account, paul.account_id).status = "disabled"
        db.session.commit()
    assert client.get("/").status_code == 302
    assert auth.login(paul.login, paul.password).status_code == 401


@pytest.fixture
def stronger_app(settings, app: Flask):  # type: ignore[no-untyped-def]
    """The same database, served with stronger argon2 parameters."""
    stronger = settings.replace(passwords={"time_cost": 2, "memory_cost_kib": 2048})
    other = create_app(stronger)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_login_rehashes_when_parameters_change(stronger_app: Flask, paul: Person, app: Flask) -> None:
    with app.app_context():
        old_hash = db.session.get(Account, paul.account_id).password_hash
    assert argon2.extract_parameters(old_hash).memory_cost == 1024
    AuthActions(stronger_app.test_client()).login(paul.login, paul.password)
    with stronger_app.app_context():
        new_hash = db.session.get(Account, paul.account_id).password_hash
    params = argon2.extract_parameters(new_hash)
    assert (params.time_cost, params.memory_cost) == (2, 2048)
    # ...and the new hash still opens the account
    assert AuthActions(stronger_app.test_client()).login(paul.login, paul.password).status_code == 302


def test_no_rehash_on_failed_login(stronger_app: Flask, paul: Person, app: Flask) -> None:
    with app.app_context():
        before = db.session.get(Account, paul.account_id).password_hash
    AuthActions(stronger_app.test_client()).login(paul.login, "Wrong#Pass-1")
    with stronger_app.app_context():
        assert db.session.get(Account, paul.account_id).password_hash == before
