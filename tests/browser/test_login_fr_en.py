"""A person signs in and out through a real browser, in French and in English."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        ("fr", {"title": "Bienvenue sur votre espace Client Cloud", "login": "Identifiant", "password": "Mot de passe",
                "submit": "Se connecter", "hello": "Bonjour", "error": "Identifiant ou mot de passe incorrect.",
                "logout": "Se déconnecter", "signed_out": "Vous êtes déconnecté."}),
        ("en", {"title": "Welcome to your Cloud Customer Area", "login": "Login", "password": "Password",
                "submit": "Sign in", "hello": "Hello", "error": "Incorrect login or password.",
                "logout": "Sign out", "signed_out": "You are signed out."}),
    ],
)
def test_sign_in_and_out(browser, live_server: str, people, lang: str, texts: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    person = people[lang]
    context = browser.new_context(locale={"fr": "fr-FR", "en": "en-GB"}[lang])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        assert page.locator("h1").inner_text() == texts["title"]
        page.get_by_label(texts["login"]).fill(person.login)
        page.get_by_label(texts["password"], exact=True).fill("Wrong#Pass-1")
        page.get_by_role("button", name=texts["submit"]).click()
        assert page.locator("#login-error").inner_text() == texts["error"]
        page.get_by_label(texts["password"], exact=True).fill(person.password)
        page.get_by_role("button", name=texts["submit"]).click()
        page.wait_for_url(f"{live_server}/")
        assert page.locator("h1").inner_text().startswith(texts["hello"])
        assert "OCB0000124" in page.content()
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["idp_session"]["httpOnly"] and cookies["idp_session"]["sameSite"] == "Lax"
        page.get_by_role("button", name=texts["logout"]).click()
        page.wait_for_url(f"{live_server}/login")
        assert texts["signed_out"] in page.content()
    finally:
        context.close()


def test_language_switch_on_the_login_page(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        assert page.get_by_role("button", name="Se connecter").is_visible()
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
        assert page.get_by_role("button", name="Sign in").is_visible()
        page.reload()
        assert page.get_by_role("button", name="Sign in").is_visible()  # remembered
    finally:
        context.close()
