"""Self-service through a real browser, French and English: forgot password with the email
read from a real SMTP server, the live strength meter, forgot login, first access from the
access email, profile edit and password change."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests import factories
from tests.conftest import TEST_CAPTCHA
from tests.conftest import SmtpSink
from tests.conftest import link_in
from tests.conftest import text_of

T = {
    "fr": {"locale": "fr-FR", "forgot": "Mot de passe oublié ?", "login": "Identifiant", "captcha": "Recopier les caractères",
           "validate": "Valider", "sent": "Confirmation de votre demande", "new": "Nouveau mot de passe",
           "confirm": "Confirmer votre mot de passe", "upper": "Au moins 1 lettre majuscule",
           "strong": "Niveau : fort", "medium": "Niveau : moyen", "password": "Mot de passe", "signin": "Se connecter",
           "changed": "Votre mot de passe a été changé", "hello": "Bonjour", "account": "Mon compte",
           "first": "Prénom", "update": "Mettre à jour", "saved": "Votre profil a été mis à jour.",
           "change_pw": "Modifier mon mot de passe", "current": "Mot de passe actuel",
           "forgot_login": "Identifiant oublié ?", "email": "Email", "login_sent": "Confirmation de votre demande d",
           "signout": "Se déconnecter"},
    "en": {"locale": "en-GB", "forgot": "Forgot your password?", "login": "Login", "captcha": "Copy the characters",
           "validate": "Validate", "sent": "Confirmation of your request", "new": "New password",
           "confirm": "Confirm your password", "upper": "At least 1 upper-case letter",
           "strong": "Level: strong", "medium": "Level: medium", "password": "Password", "signin": "Sign in",
           "changed": "Your password has been changed", "hello": "Hello", "account": "My account",
           "first": "First name", "update": "Update", "saved": "Your profile has been updated.",
           "change_pw": "Change Password", "current": "Current password",
           "forgot_login": "Forgot your login?", "email": "Email", "login_sent": "Confirmation of your login request",
           "signout": "Sign out"},
}


def _sign_in(page, t: dict, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label(t["login"], exact=True).fill(login)
    page.get_by_label(t["password"], exact=True).fill(password)
    page.get_by_role("button", name=t["signin"]).click()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_forgot_password_profile_and_password_change(browser, live_server: str, people, smtp: SmtpSink,  # type: ignore[no-untyped-def]
                                                     lang: str) -> None:
    t, person = T[lang], people[lang]
    strong, newer = "Nouveau#Depart-2026", "Encore#Plus-Fort-77"
    context = browser.new_context(locale=t["locale"])
    page = context.new_page()
    try:
        # forgot password → email from the real SMTP server → link
        page.goto(f"{live_server}/login")
        page.get_by_role("link", name=t["forgot"]).click()
        page.get_by_label(t["login"], exact=True).fill(person.login)
        # the captcha image really loads (a broken image would never get a width)
        page.wait_for_function("() => { const i = document.getElementById('captcha-image');"
                               " return i.complete && i.naturalWidth > 0; }", timeout=10_000)
        page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
        page.get_by_role("button", name=t["validate"]).click()
        assert t["sent"] in page.locator("h1").inner_text()
        reset_mail = smtp.wait_for_match(person.email, "/reset-password/")
        page.goto(link_in(reset_mail))
        # the live level, drawn by the page's own script as the person types
        page.get_by_label(t["new"]).fill("Abcdef#1")
        assert page.locator("#password-level").inner_text() == t["medium"]
        page.get_by_label(t["new"]).fill(strong)
        assert page.locator("#password-level").inner_text() == t["strong"]
        # a weak password is refused with the unmet rules shown
        page.get_by_label(t["new"]).fill("weakling")
        page.get_by_label(t["confirm"]).fill("weakling")
        page.get_by_role("button", name=t["validate"]).click()
        assert t["upper"] in page.locator("#password-error").inner_text()
        # a strong one is accepted, then signs in
        page.get_by_label(t["new"]).fill(strong)
        page.get_by_label(t["confirm"]).fill(strong)
        page.get_by_role("button", name=t["validate"]).click()
        page.wait_for_url(f"{live_server}/login")
        assert t["changed"] in page.content()
        _sign_in(page, t, person.login, strong)
        page.wait_for_url(f"{live_server}/")
        assert page.locator("h1").inner_text().startswith(t["hello"])
        # profile edit
        page.get_by_role("link", name=t["account"]).click()
        page.get_by_label(t["first"]).fill("Renamed")
        page.get_by_role("button", name=t["update"]).click()
        assert t["saved"] in page.content()
        assert page.get_by_label(t["first"]).input_value() == "Renamed"
        # password change
        page.get_by_role("link", name=t["change_pw"]).click()
        page.get_by_label(t["current"]).fill(strong)
        page.get_by_label(t["new"]).fill(newer)
        page.get_by_label(t["confirm"]).fill(newer)
        page.get_by_role("button", name=t["update"]).click()
        page.wait_for_url(f"{live_server}/account")
        page.goto(f"{live_server}/logout")
        page.get_by_role("button", name=t["signout"]).click()
        _sign_in(page, t, person.login, newer)
        page.wait_for_url(f"{live_server}/")
        # forgot login (after signing out)
        page.goto(f"{live_server}/logout")
        page.get_by_role("button", name=t["signout"]).click()
        page.get_by_role("link", name=t["forgot_login"]).click()
        page.get_by_label(t["email"], exact=True).fill(person.email)
        page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
        page.get_by_role("button", name=t["validate"]).click()
        assert t["login_sent"] in page.locator("h1").inner_text()
        reminder = smtp.wait_for_match(person.email, f"{live_server}/login")
        assert person.login in text_of(reminder)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_first_access_from_the_access_email(browser, live_server: str, app: Flask, smtp: SmtpSink, lang: str) -> None:  # type: ignore[no-untyped-def]
    t = T[lang]
    with app.app_context():
        factories.contract_with_referent(password=None)
        from idp.directory import service
        from idp.extensions import db

        service.add_member("OCB0000124", factories.identity("julie.dupont", language=lang))
        db.session.commit()
    access = smtp.wait_for("julie.dupont@example.test")[0]
    # Written by this test process, whose issuer differs from the live server's: follow the path.
    # The link proves the address, then leads to the first password.
    button = re.search(r"https?://[^/\s]+(/email/verify/[A-Za-z0-9_.-]+)", text_of(access)).group(1)
    context = browser.new_context(locale=t["locale"])
    page = context.new_page()
    try:
        page.goto(live_server + button)
        assert page.get_by_label(t["login"], exact=True).input_value() == "julie.dupont"
        page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
        page.get_by_role("button", name=t["validate"]).click()
        link = link_in(smtp.wait_for("julie.dupont@example.test", count=2)[-1])
        page.goto(link)
        page.get_by_label(t["new"]).fill("Premier#Acces-2026")
        page.get_by_label(t["confirm"]).fill("Premier#Acces-2026")
        page.get_by_role("button", name=t["validate"]).click()
        page.wait_for_url(f"{live_server}/login")
        _sign_in(page, t, "julie.dupont", "Premier#Acces-2026")
        page.wait_for_url(f"{live_server}/")
        assert page.locator("h1").inner_text().startswith(t["hello"])
    finally:
        context.close()
