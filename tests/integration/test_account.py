"""My account: profile edit, password change (SEC-SESS-06); email changes: test_email_change."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.directory.models import Account
from idp.extensions import db
from tests.conftest import AuthActions
from tests.conftest import Outbox
from tests.conftest import SmtpSink
from tests.conftest import csrf_token
from tests.conftest import text_of
from tests.factories import Person

NEW = "Brand#New-Pass42"


@pytest.fixture
def settings_overrides(mail_settings) -> dict:  # type: ignore[no-untyped-def]
    return {"mail": mail_settings}


# Signed-in pages speak the account's language (Paul prefers French), whatever the browser says.
@pytest.fixture
def signed_in(client: FlaskClient, auth: AuthActions, paul: Person, outbox: Outbox, smtp: SmtpSink) -> Person:
    outbox.deliver()
    smtp.messages.clear()
    assert auth.login(paul.login, paul.password).status_code == 302
    return paul


def _profile(client: FlaskClient, **changes: str):  # type: ignore[no-untyped-def]
    page = client.get("/account", headers={"Accept-Language": "en"})
    data = {"csrf_token": csrf_token(page.text), "civility": "monsieur", "last_name": "Dupont", "first_name": "Paul",
            "email": "paul.dupont@example.test", "landline": "01 02 03 04 05", "mobile": "", "language": "fr"}
    data.update(changes)
    return client.post("/account", data=data, headers={"Accept-Language": "en"})


def test_account_pages_need_a_session(client: FlaskClient) -> None:
    assert client.get("/account").status_code == 302
    assert client.get("/account/password").status_code == 302


def test_profile_shows_the_login(client: FlaskClient, signed_in: Person) -> None:
    page = client.get("/account")
    assert '<strong id="account-login">paul.dupont</strong>' in page.text
    for label in ("Civilité", "Nom", "Prénom", "Email", "Téléphone fixe", "Téléphone mobile", "Langue préférée"):
        assert label in page.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"landline": "", "mobile": ""}, "Vous devez renseigner obligatoirement un numéro de téléphone"),
        ({"email": "not-an-email"}, "Cette adresse email n&#39;est pas valide."),
        ({"mobile": "call me"}, "Ce numéro de téléphone n&#39;est pas valide."),
        ({"last_name": ""}, "Ce champ est obligatoire."),
    ],
)
def test_bad_profile_input_changes_nothing(app: Flask, client: FlaskClient, signed_in: Person,
                                           changes: dict, message: str) -> None:
    response = _profile(client, first_name="Changed", **changes)
    assert response.status_code == 400 and message in response.text
    with app.app_context():
        assert db.session.get(Account, signed_in.account_id).first_name == "Paul"


def _change(client: FlaskClient, current: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/account/password", headers={"Accept-Language": "en"})
    return client.post("/account/password", headers={"Accept-Language": "en"}, data={
        "csrf_token": csrf_token(page.text), "current": current, "password": new,
        "confirm": new if confirm is None else confirm})


def test_password_change_keeps_this_session_ends_the_others_and_confirms(
    app: Flask, client: FlaskClient, signed_in: Person, outbox: Outbox, smtp: SmtpSink
) -> None:
    elsewhere = AuthActions(app.test_client())
    elsewhere.login(signed_in.login, signed_in.password)
    response = _change(client, signed_in.password, NEW)
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session stays
    assert elsewhere.client.get("/").status_code == 302  # the other one has ended
    assert AuthActions(app.test_client()).login(signed_in.login, NEW).status_code == 302
    outbox.deliver()
    assert len(smtp.to(signed_in.email)) == 1


def test_wrong_current_password_is_refused(client: FlaskClient, signed_in: Person) -> None:
    response = _change(client, "Wrong#Current-1", NEW)
    assert response.status_code == 400 and "Votre mot de passe actuel est incorrect." in response.text


def test_new_password_follows_the_policy(client: FlaskClient, signed_in: Person) -> None:
    response = _change(client, signed_in.password, "paul.dupont#A1")
    assert response.status_code == 400 and "Différent de votre identifiant" in response.text


def test_password_changes_are_rate_limited(client: FlaskClient, signed_in: Person) -> None:
    statuses = [_change(client, "Wrong#Current-1", NEW).status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
