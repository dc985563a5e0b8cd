"""The console's two-step web login at the IdP: company account, then login (SPEC §3)."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.extensions import db
from idp.oidc import clients as registry
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person
from tests.helpers import authorize
from tests.helpers import pkce
from tests.helpers import query

CB = "http://127.0.0.1:5002/callback"


@pytest.fixture
def console(app: Flask, paul: Person) -> str:
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        reg = registry.create(client_id="console", name="Console", redirect_uris=[CB], first_party=True,
                              console_login=True)
        db.session.commit()
    return reg.secret or ""


def _start(client: FlaskClient, **extra: str):  # type: ignore[no-untyped-def]
    _, challenge = pkce()
    return authorize(client, challenge, client_id="console", redirect_uri=CB, scope="openid profile", **extra)


def _step(client: FlaskClient, company: str, remember: bool = False, lang: str = "fr"):  # type: ignore[no-untyped-def]
    first = _start(client)
    assert first.status_code == 302 and first.headers["Location"].startswith("/console-login?next=")
    page = client.get(first.headers["Location"], headers={"Accept-Language": lang})
    data = {"csrf_token": csrf_token(page.text), "company_account": company,
            "next": parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]}
    if remember:
        data["remember"] = "y"
    return page, client.post("/console-login", data=data, headers={"Accept-Language": lang})


def test_company_step_then_login_then_code_with_the_console_roles(client: FlaskClient, auth: AuthActions,
                                                                   paul: Person, console: str) -> None:
    page, step = _step(client, "OCB0000124")
    assert "Compte entreprise" in page.text and "Se souvenir de mon compte entreprise" in page.text
    assert step.status_code == 302
    back = step.headers["Location"]
    assert back.startswith("/authorize?") and "company_account=OCB0000124" in back
    to_login = client.get(back)
    assert to_login.headers["Location"].startswith("/login?next=")  # step 2: login and password
    target = parse_qs(urlsplit(to_login.headers["Location"]).query)["next"][0]
    auth.login(paul.login, paul.password, next=target)
    assert "code" in query(client.get(target))


def test_remembered_company_account_and_a_session_mean_no_form_at_all(client: FlaskClient, auth: AuthActions,
                                                                       paul: Person, console: str) -> None:
    _, step = _step(client, "OCB0000124", remember=True)
    cookie = [c for c in step.headers.getlist("Set-Cookie") if c.startswith("idp_company=")][0]
    assert "OCB0000124" in cookie and "HttpOnly" in cookie and "Max-Age=31536000" in cookie
    auth.login(paul.login, paul.password)
    again = _start(client)
    assert again.status_code == 302 and "company_account=OCB0000124" in again.headers["Location"]
    assert "code" in query(client.get(again.headers["Location"]))


def test_bad_company_account_is_refused_next_to_the_field(client: FlaskClient, console: str) -> None:
    page, step = _step(client, "ocb124", lang="en")
    assert step.status_code == 400 and "A company account looks like OCB0000124." in step.text


def test_unknown_company_account_is_not_revealed_before_login(client: FlaskClient, auth: AuthActions,
                                                               paul: Person, console: str) -> None:
    _, step = _step(client, "OCB9999999")
    assert step.status_code == 302  # same answer as a real one: nothing told before login
    to_login = client.get(step.headers["Location"])
    target = parse_qs(urlsplit(to_login.headers["Location"]).query)["next"][0]
    auth.login(paul.login, paul.password, next=target)
    refused = client.get(target)
    assert refused.status_code == 403 and "OCB9999999" in refused.text


def test_step_needs_csrf_and_an_authorization_request(client: FlaskClient, console: str) -> None:
    assert client.post("/console-login", data={"company_account": "OCB0000124", "next": "/authorize?x=1"}).status_code == 403
    assert client.get("/console-login?next=https://evil.example/").status_code == 400


def test_prompt_none_without_company_account_is_login_required(client: FlaskClient, console: str) -> None:
    assert query(_start(client, prompt="none"))["error"] == "login_required"
