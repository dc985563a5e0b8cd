"""The guides' small points that only a browser shows, French and English: *Afficher les mots
de passe en clair / Show passwords* shows and hides the form's passwords, and *Charger une
autre image / Load another image* draws a new captcha without losing what was typed."""

from __future__ import annotations

import pytest
from flask import Flask

from idp.directory.models import Account
from idp.extensions import db
from idp.selfservice import flows
from tests.conftest import TEST_CAPTCHA

T = {
    "fr": {
        "locale": "fr-FR",
        "show": "Afficher les mots de passe en clair",
        "new": "Nouveau mot de passe",
        "confirm": "Confirmer votre mot de passe",
        "login": "Identifiant",
        "password": "Mot de passe",
        "signin": "Se connecter",
        "reload": "Charger une autre image",
        "company": "Compte entreprise (nom de domaine)",
        "email": "Email",
        "captcha": "Recopier les caractères",
        "next": "Suivant",
        "reloaded": "Une nouvelle image a été chargée.",
        "new_api": "Nouveau mot de passe API",
    },
    "en": {
        "locale": "en-GB",
        "show": "Show passwords",
        "new": "New password",
        "confirm": "Confirm your password",
        "login": "Login",
        "password": "Password",
        "signin": "Sign in",
        "reload": "Load another image",
        "company": "Company account (domain name)",
        "email": "Email",
        "captcha": "Copy the characters",
        "next": "Next",
        "reloaded": "A new image has been loaded.",
        "new_api": "New API password",
    },
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_show_passwords_shows_and_hides_the_forms_passwords(  # type: ignore[no-untyped-def]
    browser, live_server: str, people, app: Flask, lang: str
) -> None:
    t, person = T[lang], people[lang]
    with app.app_context():
        token = flows.issue(db.session.get(Account, person.account_id), 3600)
        db.session.commit()
    context = browser.new_context(locale=t["locale"])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/reset-password/{token}")
        new, confirm, show = page.get_by_label(t["new"]), page.get_by_label(t["confirm"]), page.get_by_label(t["show"])
        new.fill("Premier#Acces-2026")
        confirm.fill("Premier#Acces-2026")
        assert show.is_visible() and not show.is_checked()
        assert new.get_attribute("type") == confirm.get_attribute("type") == "password"
        show.check()
        assert new.get_attribute("type") == confirm.get_attribute("type") == "text"
        assert new.input_value() == confirm.input_value() == "Premier#Acces-2026"  # nothing lost
        show.uncheck()
        assert new.get_attribute("type") == confirm.get_attribute("type") == "password"
        # the sign-in form: the one password shown, and sent as typed
        page.goto(f"{live_server}/login")
        page.get_by_label(t["login"], exact=True).fill(person.login)
        page.get_by_label(t["password"], exact=True).fill(person.password)
        page.get_by_label(t["show"]).check()
        assert page.get_by_label(t["password"], exact=True).get_attribute("type") == "text"
        page.get_by_role("button", name=t["signin"]).click()
        page.wait_for_url(f"{live_server}/")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_load_another_image_keeps_what_was_typed(browser, live_server: str, people, lang: str) -> None:  # type: ignore[no-untyped-def]
    t, person = T[lang], people[lang]
    context = browser.new_context(locale=t["locale"])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/api-password")
        page.get_by_label(t["company"]).fill("OCB0000124")
        page.get_by_label(t["email"], exact=True).fill(person.email)
        page.get_by_label(t["captcha"]).fill("TYPED FOR THE OLD IMAGE")
        challenge = page.locator("input[name=captcha_id]")
        first_id, first_src = challenge.input_value(), page.locator("#captcha-image").get_attribute("src")
        page.get_by_role("link", name=t["reload"]).click()
        page.wait_for_function(
            "(first) => document.querySelector('input[name=captcha_id]').value !== first", arg=first_id
        )
        second_id = challenge.input_value()
        assert second_id and page.url == f"{live_server}/api-password"  # never left the page
        assert page.locator("#captcha-image").get_attribute("src") == f"/captcha/{second_id}.png" != first_src
        assert page.locator("#captcha-audio").get_attribute("href") == f"/captcha/{second_id}.wav"
        page.wait_for_function(
            "() => { const i = document.getElementById('captcha-image'); return i.complete && i.naturalWidth > 0; }"
        )
        page.locator("#captcha-status").filter(has_text=t["reloaded"]).wait_for(state="attached")
        # what was typed stays, but for the old image's characters
        assert page.get_by_label(t["company"]).input_value() == "OCB0000124"
        assert page.get_by_label(t["email"], exact=True).input_value() == person.email
        assert page.get_by_label(t["captcha"]).input_value() == ""
        # the new challenge answers
        page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
        page.get_by_role("button", name=t["next"]).click()
        page.get_by_label(t["new_api"]).wait_for()
    finally:
        context.close()
