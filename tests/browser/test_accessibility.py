"""Every page of the IdP passes axe-core's WCAG 2.1 A/AA rules, French and English, in the
states a person meets: empty, with the errors of a wrong submission, with the live password
level drawn, and the pages behind mailed links (tokens made in the test database, or read
from the real SMTP server where the flow mails them)."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

import pytest
from flask import Flask

from idp.directory import console_users
from idp.directory import service
from idp.directory.models import Account
from idp.extensions import db
from idp.oidc import clients as registry
from idp.selfservice import email_change
from idp.selfservice import flows
from tests import factories
from tests.browser.axe import Audit
from tests.browser.test_my_credential_fr_en import nth_code
from tests.conftest import TEST_CAPTCHA
from tests.conftest import SmtpSink
from tests.conftest import text_of

T = {
    "fr": {
        "locale": "fr-FR",
        "login": "Identifiant",
        "password": "Mot de passe",
        "signin": "Se connecter",
        "validate": "Valider",
        "captcha": "Recopier les caractères",
        "email": "Email",
        "new": "Nouveau mot de passe",
        "confirm": "Confirmer votre mot de passe",
        "current": "Mot de passe actuel",
        "update": "Mettre à jour",
        "company": "Compte entreprise (nom de domaine)",
        "next": "Suivant",
        "get_code": "Obtenir le code",
        "new_api": "Nouveau mot de passe API",
        "confirm_api": "Confirmer le mot de passe API",
        "code": "Code de vérification reçu par email",
        "api_password": "Mot de passe API",
        "ok": "OK",
        "last": "Nom",
    },
    "en": {
        "locale": "en-GB",
        "login": "Login",
        "password": "Password",
        "signin": "Sign in",
        "validate": "Validate",
        "captcha": "Copy the characters",
        "email": "Email",
        "new": "New password",
        "confirm": "Confirm your password",
        "current": "Current password",
        "update": "Update",
        "company": "Company account (domain name)",
        "next": "Next",
        "get_code": "Get code",
        "new_api": "New API password",
        "confirm_api": "Confirm API password",
        "code": "Email verification code",
        "api_password": "API password",
        "ok": "OK",
        "last": "Last name",
    },
}
API_PASSWORD = "Api#Password-2026"


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, object]]:
    """Mail queued by this test process goes out within a second, not the default five."""
    return {"jobs": {"poll_seconds": 1}}


def _page(browser, lang: str):  # type: ignore[no-untyped-def]
    return browser.new_context(locale=T[lang]["locale"]).new_page()


def _shows(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """The page is the one meant (an error shown, a form, a result): else the check proves little."""
    page.locator(selector).first.wait_for(timeout=10_000)


def _sign_in(  # type: ignore[no-untyped-def]
    page, live_server: str, t: dict[str, str], login: str, password: str
) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label(t["login"], exact=True).fill(login)
    page.get_by_label(t["password"], exact=True).fill(password)
    page.get_by_role("button", name=t["signin"]).click()
    page.wait_for_url(f"{live_server}/")


def _captcha_page(  # type: ignore[no-untyped-def]
    audit: Audit, page, t: dict[str, str], name: str, field: str, value: str
) -> None:
    """A captcha page empty, with every field's error, with a wrong captcha, then sent."""
    page.wait_for_function(
        "() => { const i = document.getElementById('captcha-image'); return i.complete && i.naturalWidth > 0; }"
    )
    audit.check(page, name)
    page.get_by_role("button", name=t["validate"]).click()
    audit.check(page, f"{name}, empty submission")
    page.get_by_label(t[field], exact=True).fill(value)
    page.get_by_label(t["captcha"]).fill("WRONG")
    page.get_by_role("button", name=t["validate"]).click()
    audit.check(page, f"{name}, wrong captcha")
    page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
    page.get_by_role("button", name=t["validate"]).click()
    audit.check(page, f"{name}, sent")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_sign_in_and_recovery_pages(  # type: ignore[no-untyped-def]
    browser, live_server: str, people, app: Flask, lang: str
) -> None:
    t, person, audit = T[lang], people[lang], Audit()
    with app.app_context():
        token = flows.issue(db.session.get(Account, person.account_id), 3600)
        db.session.commit()
    page = _page(browser, lang)
    try:
        page.goto(f"{live_server}/login")
        audit.check(page, "login")
        page.get_by_label(t["login"], exact=True).fill(person.login)
        page.get_by_label(t["password"], exact=True).fill("not the password")
        page.get_by_role("button", name=t["signin"]).click()
        _shows(page, "#login-error")
        audit.check(page, "login, wrong password")
        page.goto(f"{live_server}/reset-password/{token}")  # before forgot-password: it ends this link
        audit.check(page, "reset-password")
        page.get_by_label(t["new"]).fill("Abcdef#1")  # the live level: medium
        audit.check(page, "reset-password, medium level")
        page.get_by_label(t["new"]).fill("weakling")
        audit.check(page, "reset-password, rules unmet")
        page.get_by_label(t["confirm"]).fill("weakling")
        page.get_by_role("button", name=t["validate"]).click()
        _shows(page, "#password-error")
        audit.check(page, "reset-password, refused")
        page.get_by_label(t["new"]).fill("Nouveau#Depart-2026")
        audit.check(page, "reset-password, strong level")
        page.goto(f"{live_server}/forgot-password")
        _captcha_page(audit, page, t, "forgot-password", "login", person.login)
        page.goto(f"{live_server}/forgot-login")
        _captcha_page(audit, page, t, "forgot-login", "email", person.email)
        page.goto(f"{live_server}/reset-password/{secrets.token_urlsafe(32)}")
        _shows(page, "main p.error")
        audit.check(page, "link-invalid")
        page.goto(f"{live_server}/no-such-page")
        _shows(page, "main p.error")
        audit.check(page, "error 404")
        page.goto(f"{live_server}/console-login?" + urlencode({"next": "/authorize?client_id=console"}))
        audit.check(page, "console-login")
        page.get_by_label(t["company"]).fill("not a company")
        page.locator("main form button[type=submit]").click()
        _shows(page, "#company_account-error")
        audit.check(page, "console-login, refused")
        page.goto(f"{live_server}/console-login")
        _shows(page, "main p.error")
        audit.check(page, "error 400 (console-login without its request)")
        page.goto(f"{live_server}/authorize?client_id=nobody&response_type=code")
        _shows(page, "main p.error")
        audit.check(page, "authorization error")
    finally:
        page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_signed_in_pages(  # type: ignore[no-untyped-def]
    browser, live_server: str, people, app: Flask, smtp: SmtpSink, lang: str
) -> None:
    t, person, audit = T[lang], people[lang], Audit()
    new_email = f"{person.login}.new@example.test"
    with app.app_context():
        service.set_console_roles("OCB0000124", person.login, ["admin"])
        console_users.set_api_password(console_users.for_login("OCB0000124", person.login), API_PASSWORD)
        factories.contract_with_referent(contract_id="OCB0000412", login="jean.martin")
        service.add_member("OCB0000412", factories.identity("any.login", email=person.email), console_roles=["guest"])
        email_change.request_change(db.session.get(Account, person.account_id), new_email)
        registry.create(client_id="other", name="Other App", redirect_uris=["https://other.example/cb"])
        app.extensions["idp.keys"].ensure()
        db.session.commit()
    confirm = re.search(r"/email/confirm/[A-Za-z0-9_.-]+", text_of(smtp.wait_for_match(new_email, "/email/confirm/")))
    cancel = re.search(r"/email/cancel/[A-Za-z0-9_.-]+", text_of(smtp.wait_for_match(person.email, "/email/cancel/")))
    assert confirm and cancel
    page = _page(browser, lang)
    try:
        _sign_in(page, live_server, t, person.login, person.password)
        audit.check(page, "home")
        page.goto(f"{live_server}/account")
        audit.check(page, "account")
        page.get_by_label(t["last"], exact=True).fill("")
        page.get_by_role("button", name=t["update"]).click()
        _shows(page, "#last_name-error")
        audit.check(page, "account, refused")
        page.goto(f"{live_server}/account/password")
        audit.check(page, "account-password")
        page.get_by_label(t["current"]).fill("wrong")
        page.get_by_label(t["new"]).fill("weakling")
        page.get_by_label(t["confirm"]).fill("other")
        page.get_by_role("button", name=t["update"]).click()
        _shows(page, ".has-error")
        audit.check(page, "account-password, refused")
        page.goto(live_server + cancel.group(0))
        _shows(page, "#email-link-submit")
        audit.check(page, "email-link, cancel")
        page.goto(live_server + confirm.group(0))
        audit.check(page, "email-link, confirm")
        page.locator("#email-link-submit").click()
        _shows(page, "#email-link-done")
        audit.check(page, "email-link, done")
        page.goto(live_server + confirm.group(0))
        _shows(page, "main p.error")
        audit.check(page, "email-link, used")
        page.goto(f"{live_server}/invitations")
        _shows(page, "#invitation-OCB0000412")
        audit.check(page, "invitations")
        page.goto(f"{live_server}/my-credential")
        audit.check(page, "my-credential")
        page.get_by_role("button", name=t["ok"]).click()
        _shows(page, ".has-error")
        audit.check(page, "my-credential, refused")
        page.get_by_label(t["api_password"], exact=True).fill(API_PASSWORD)
        page.get_by_role("button", name=t["get_code"]).click()
        _shows(page, "#notice")
        audit.check(page, "my-credential, code sent")
        code = nth_code(smtp, new_email, 1)
        page.get_by_label(t["api_password"], exact=True).fill(API_PASSWORD)
        page.get_by_label(t["code"]).fill(code)
        page.get_by_role("button", name=t["ok"]).click()
        _shows(page, "#new-access")
        audit.check(page, "access-key-created")
        page.goto(f"{live_server}/my-credential")
        _shows(page, "#keys tr[id^=key-]")
        audit.check(page, "my-credential, one key")
        page.goto(
            f"{live_server}/authorize?"
            + urlencode(
                {
                    "response_type": "code",
                    "client_id": "other",
                    "redirect_uri": "https://other.example/cb",
                    "scope": "openid email offline_access",
                    "state": "s",
                    "nonce": "n",
                    "code_challenge": "x" * 43,
                    "code_challenge_method": "S256",
                }
            )
        )
        _shows(page, "button[name=decision]")
        audit.check(page, "consent")
        page.goto(f"{live_server}/end-session")
        _shows(page, "main form button[type=submit]")
        audit.check(page, "end-session")
        page.goto(f"{live_server}/logout")
        _shows(page, "main form button[type=submit]")
        audit.check(page, "logout")
    finally:
        page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_api_password_pages(  # type: ignore[no-untyped-def]
    browser, live_server: str, people, app: Flask, smtp: SmtpSink, lang: str
) -> None:
    t, person, audit = T[lang], people[lang], Audit()
    with app.app_context():
        service.set_console_roles("OCB0000124", person.login, ["admin"])
        db.session.commit()
    page = _page(browser, lang)
    try:
        page.goto(f"{live_server}/api-password")
        audit.check(page, "api-password")
        page.get_by_role("button", name=t["next"]).click()
        audit.check(page, "api-password, empty submission")
        page.get_by_label(t["company"]).fill("OCB0000124")
        page.get_by_label(t["email"], exact=True).fill(person.email)
        page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
        page.get_by_role("button", name=t["next"]).click()
        audit.check(page, "api-password step 2")
        page.get_by_label(t["new_api"]).fill("Abcdef#1")
        audit.check(page, "api-password step 2, medium level")
        page.get_by_label(t["confirm_api"]).fill("Abcdef#2")
        page.get_by_role("button", name=t["get_code"], exact=True).click()
        page.locator("#confirm-error").wait_for()
        audit.check(page, "api-password step 2, passwords differ")
        page.get_by_label(t["new_api"]).fill(API_PASSWORD)
        page.get_by_label(t["confirm_api"]).fill(API_PASSWORD)
        page.get_by_role("button", name=t["get_code"], exact=True).click()
        page.locator("#notice").wait_for()  # the code asked for without leaving the page
        code = nth_code(smtp, person.email, 1)
        audit.check(page, "api-password step 2, code sent")
        page.get_by_label(t["code"]).fill("000000" if code != "000000" else "111111")
        page.get_by_role("button", name=t["next"]).click()
        audit.check(page, "api-password step 2, wrong code")
        page.get_by_label(t["new_api"]).fill(API_PASSWORD)
        page.get_by_label(t["confirm_api"]).fill(API_PASSWORD)
        page.get_by_label(t["code"]).fill(code)
        page.get_by_role("button", name=t["next"]).click()
        audit.check(page, "api-password done")
        # a flow that ended (or never was) leads to the expired page
        page.goto(f"{live_server}/api-password")
        page.get_by_label(t["company"]).fill("OCB0000124")
        page.get_by_label(t["email"], exact=True).fill(person.email)
        page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
        page.get_by_role("button", name=t["next"]).click()
        page.locator("input[name=flow]").evaluate("input => { input.value = 'ended'; }")
        page.get_by_label(t["new_api"]).fill(API_PASSWORD)
        page.get_by_label(t["confirm_api"]).fill(API_PASSWORD)
        page.get_by_role("button", name=t["get_code"], exact=True).click()
        page.locator("#expired").wait_for()
        audit.check(page, "api-password expired")
    finally:
        page.context.close()
    audit.assert_clean()
