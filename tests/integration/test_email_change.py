"""Email change as a confirmed flow, and `email_verified` from a stored proof (issue 10, 1–2).

Whoever sets the address owns the account (every recovery goes there), so: the current
password, a link to the new mailbox, a cancel link to the old one, and everything that
could still act from the old address dies at the switch.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.directory import console_users
from idp.directory.models import Account
from idp.extensions import db
from idp.security import codes
from idp.security.codes import CodePurpose
from idp.selfservice.email_change import EmailChange
from tests.conftest import TEST_CAPTCHA
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person
from tests.factories import member
from tests.helpers import audit_rows
from tests.helpers import exchange
from tests.helpers import mail_jobs
from tests.helpers import signed_in_code
from tests.integration.test_races import burst
from tests.integration.test_races import crashed
from tests.integration.test_races import statuses

NEW_EMAIL = "paul.new@example.test"


@pytest.fixture
def signed_in(client: FlaskClient, auth: AuthActions, paul: Person) -> Person:
    assert auth.login(paul.login, paul.password).status_code == 302
    return paul


def _profile(client: FlaskClient, **changes: str):  # type: ignore[no-untyped-def]
    page = client.get("/account", headers={"Accept-Language": "en"})
    data = {"csrf_token": csrf_token(page.text), "civility": "monsieur", "last_name": "Dupont", "first_name": "Paul",
            "email": "paul.dupont@example.test", "landline": "01 02 03 04 05", "mobile": "", "language": "fr"}
    data.update(changes)
    return client.post("/account", data=data, headers={"Accept-Language": "en"})


def _account(app: Flask, account_id: int) -> Account:
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert account is not None
        db.session.expunge(account)
        return account


def _link(app: Flask, template: str, path: str, to: str | None = None) -> str:
    jobs = [j for j in mail_jobs(app, template) if to is None or j.payload["recipient"] == to]
    assert jobs, f"no {template} mail"
    match = re.search(rf"https?://\S+({path}/[A-Za-z0-9_.-]+)", jobs[-1].payload["text"])
    assert match, jobs[-1].payload["text"]
    return match.group(1)


def _follow(client: FlaskClient, path: str):  # type: ignore[no-untyped-def]
    """Open a confirm/cancel link and press its button, as a person would."""
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    return client.post(path, data={"csrf_token": csrf_token(page.text)})


def _forgot_password(app: Flask, login: str) -> str:
    """Ask for a reset link from a fresh browser; return the address it was mailed to."""
    browser = app.test_client()
    page = browser.get("/forgot-password")
    form = {"csrf_token": csrf_token(page.text), "login": login, "captcha": TEST_CAPTCHA,
            "captcha_id": re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)}  # type: ignore[union-attr]
    assert browser.post("/forgot-password", data=form).status_code == 200
    return mail_jobs(app, "password-reset")[-1].payload["recipient"]


def test_a_new_email_without_the_current_password_changes_nothing(
    app: Flask, client: FlaskClient, signed_in: Person
) -> None:
    before = len(mail_jobs(app))
    response = _profile(client, email=NEW_EMAIL, first_name="Paolo")
    assert response.status_code == 400
    assert "Tapez votre mot de passe actuel pour changer votre adresse email." in response.text
    account = _account(app, signed_in.account_id)
    assert (account.email, account.first_name) == (signed_in.email, "Paul")
    assert len(mail_jobs(app)) == before


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failure(
    app: Flask, client: FlaskClient, signed_in: Person
) -> None:
    response = _profile(client, email=NEW_EMAIL, current_password="Wrong#Pass-123")
    assert response.status_code == 400 and "Votre mot de passe actuel est incorrect." in response.text
    assert _account(app, signed_in.account_id).email == signed_in.email
    assert mail_jobs(app, "email-change-confirm") == []
    assert audit_rows(app, "account:password:change_failed")


def test_the_address_switches_only_when_the_new_mailbox_confirms(
    app: Flask, client: FlaskClient, signed_in: Person
) -> None:
    assert _profile(client, email=NEW_EMAIL, current_password=signed_in.password).status_code == 302
    assert _account(app, signed_in.account_id).email == signed_in.email
    confirm = _link(app, "email-change-confirm", "/email/confirm", to=NEW_EMAIL)
    assert _link(app, "email-change-requested", "/email/cancel", to=signed_in.email)
    # Until the new mailbox answers, recovery still goes to the old address.
    assert _forgot_password(app, signed_in.login) == signed_in.email
    assert client.get(confirm).status_code == 200  # a GET (a mail scanner) moves nothing
    assert _account(app, signed_in.account_id).email == signed_in.email
    assert _follow(client, confirm).status_code == 200
    account = _account(app, signed_in.account_id)
    assert (account.email, account.email_verified_at is not None) == (NEW_EMAIL, True)
    assert _forgot_password(app, signed_in.login) == NEW_EMAIL
    assert [j.payload["recipient"] for j in mail_jobs(app, "email-changed")] == [signed_in.email]
    assert client.get(confirm).status_code == 410  # single use


def test_the_old_address_can_cancel_the_change(app: Flask, client: FlaskClient, signed_in: Person) -> None:
    _profile(client, email=NEW_EMAIL, current_password=signed_in.password)
    confirm = _link(app, "email-change-confirm", "/email/confirm")
    cancel = _link(app, "email-change-requested", "/email/cancel")
    assert _follow(app.test_client(), cancel).status_code == 200
    assert app.test_client().get(confirm).status_code == 410
    assert _account(app, signed_in.account_id).email == signed_in.email


def test_links_and_codes_sent_to_the_old_address_die_with_the_change(
    app: Flask, client: FlaskClient, signed_in: Person
) -> None:
    _forgot_password(app, signed_in.login)
    reset = _link(app, "password-reset", "/reset-password")
    with app.app_context():
        [user] = console_users.of_account(signed_in.account_id)
        code = codes.issue(user.id, CodePurpose.API_PASSWORD_RESET)
        db.session.commit()
    _profile(client, email=NEW_EMAIL, current_password=signed_in.password)
    assert app.test_client().get(reset).status_code == 200  # still good before the switch
    _follow(client, _link(app, "email-change-confirm", "/email/confirm"))
    assert app.test_client().get(reset).status_code == 410
    with app.app_context():
        assert not codes.check(user.id, CodePurpose.API_PASSWORD_RESET, code, account_id=signed_in.account_id)


def test_an_address_in_use_gets_the_same_answer_and_its_owner_is_told(
    app: Flask, client: FlaskClient, signed_in: Person
) -> None:
    with app.app_context():
        julie = member("OCB0000124", "julie.martin")
    answers = []
    for email in (NEW_EMAIL, julie.email.upper()):
        response = _profile(client, email=email, current_password=signed_in.password)
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).text.replace(email, "X")
        answers.append(re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page))  # signed with the time
    assert answers[0] == answers[1]
    [notice] = mail_jobs(app, "email-in-use")
    assert notice.payload["recipient"] == julie.email and "/email/confirm" not in notice.payload["text"]
    assert "paul" not in notice.payload["text"].lower()  # nothing about who tried
    assert [j.payload["recipient"] for j in mail_jobs(app, "email-change-confirm")] == [NEW_EMAIL]
    assert _account(app, signed_in.account_id).email == signed_in.email


def test_a_new_password_cancels_a_pending_change(app: Flask, client: FlaskClient, signed_in: Person) -> None:
    _profile(client, email=NEW_EMAIL, current_password=signed_in.password)
    confirm = _link(app, "email-change-confirm", "/email/confirm")
    _forgot_password(app, signed_in.login)
    reset = _link(app, "password-reset", "/reset-password")
    browser = app.test_client()
    page = browser.get(reset)
    new = "Taken#Back-2026"
    assert browser.post(reset, data={"csrf_token": csrf_token(page.text), "password": new,
                                     "confirm": new}).status_code == 302
    assert app.test_client().get(confirm).status_code == 410


def test_email_change_requests_are_limited(app: Flask, client: FlaskClient, signed_in: Person) -> None:
    statuses = [_profile(client, email=f"p{i}@example.test", current_password=signed_in.password).status_code
                for i in range(6)]
    assert statuses == [302] * 5 + [400]
    assert len(mail_jobs(app, "email-change-confirm")) == 5


def _claims(client: FlaskClient, auth: AuthActions, paul: Person, secret: str) -> tuple[dict[str, Any], dict[str, Any]]:
    code, verifier = signed_in_code(client, auth, paul)
    tokens = exchange(client, code, verifier, secret).json
    id_token = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks").json), algorithms=["RS256"])
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    return id_token.claims, info


def test_email_verified_comes_from_the_stored_proof(
    app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    id_claims, info = _claims(client, auth, paul, rp["portal"])
    assert (id_claims["email_verified"], info["email_verified"]) == (False, False)
    _profile(client, email=NEW_EMAIL, current_password=paul.password)
    id_claims, info = _claims(client, auth, paul, rp["portal"])
    assert (info["email"], info["email_verified"], id_claims["email_verified"]) == (paul.email, False, False)
    _follow(client, _link(app, "email-change-confirm", "/email/confirm"))
    id_claims, info = _claims(client, auth, paul, rp["portal"])
    assert (info["email"], info["email_verified"], id_claims["email_verified"]) == (NEW_EMAIL, True, True)


def test_the_access_email_link_proves_the_address_then_leads_to_the_first_password(
    app: Flask, client: FlaskClient, paul: Person
) -> None:
    with app.app_context():
        newcomer = member("OCB0000124", "nina.simone", password=None)
    link = _link(app, "access", "/email/verify", to=newcomer.email)
    response = client.get(link)
    assert response.status_code == 302 and "/forgot-password?login=nina.simone" in response.headers["Location"]
    assert _account(app, newcomer.account_id).email_verified_at is not None
    assert client.get(link[:-3] + "xyz").status_code == 410


def test_following_a_reset_link_proves_the_address(app: Flask, paul: Person) -> None:
    assert _account(app, paul.account_id).email_verified_at is None
    _forgot_password(app, paul.login)
    assert app.test_client().get(_link(app, "password-reset", "/reset-password")).status_code == 200
    assert _account(app, paul.account_id).email_verified_at is not None


def test_a_signed_in_person_can_ask_for_a_proof_link(app: Flask, client: FlaskClient, signed_in: Person) -> None:
    page = client.get("/account")
    assert "pas encore été vérifiée" in page.text
    token = csrf_token(page.text)
    assert client.post("/account/email/verify", data={"csrf_token": token}).status_code == 302
    client.get(_link(app, "email-verify", "/email/verify", to=signed_in.email))
    assert "Adresse vérifiée." in client.get("/account").text


def test_parallel_email_change_requests_leave_one_pending(app: Flask, paul: Person) -> None:
    """Each request cancels the pending change before it writes its own; behind the lock on
    the account's row, the last one standing is the only one whose link still works."""

    def prepare(i: int, browser: FlaskClient) -> str:
        AuthActions(browser).login(paul.login, paul.password)
        return csrf_token(browser.get("/account").text)

    def send(i: int, browser: FlaskClient, token: str):  # type: ignore[no-untyped-def]
        return browser.post("/account", data={
            "csrf_token": token, "civility": "monsieur", "last_name": "Dupont", "first_name": "Paul",
            "email": f"paul.{i}@example.test", "landline": "01 02 03 04 05", "mobile": "", "language": "fr",
            "current_password": paul.password})

    answers = burst(app, 4, send, prepare, hold_writes=0.3)
    assert not crashed(answers) and statuses(answers) == {302: 4}
    with app.app_context():
        assert len([c for c in db.session.scalars(select(EmailChange)) if c.confirmed_at is None
                    and c.cancelled_at is None]) == 1


def test_a_reset_link_is_good_only_while_the_account_has_the_address_it_went_to(
    app: Flask, paul: Person
) -> None:
    _forgot_password(app, paul.login)
    reset = _link(app, "password-reset", "/reset-password")
    with app.app_context():  # as if a switch had raced past the link's writing
        account = db.session.get(Account, paul.account_id)
        account.email, account.email_canonical = NEW_EMAIL, NEW_EMAIL
        db.session.commit()
    assert app.test_client().get(reset).status_code == 410


def test_an_address_that_would_fold_onto_another_is_refused(app: Flask, client: FlaskClient,
                                                            signed_in: Person) -> None:
    """Addresses are compared case-folded: "straße" would be "strasse", someone else's."""
    response = _profile(client, email="straße@example.test", current_password=signed_in.password)
    assert response.status_code == 400 and "Cette adresse email n&#39;est pas valide." in response.text
    assert mail_jobs(app, "email-change-confirm") == []
