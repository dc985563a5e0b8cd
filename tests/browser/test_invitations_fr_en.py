"""An invitation to a second contract, in a real browser, French and English: a member of
contract A is invited to contract B, follows the mailed link (from the real SMTP server),
signs in, accepts, opens the portal and finds contract B there."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from idp.directory import service
from idp.directory.models import Account
from idp.extensions import db
from tests import factories
from tests.browser import test_sso_portal_to_console as sso
from tests.conftest import SmtpSink
from tests.conftest import text_of

apps = sso.apps  # the fixture serving the portal and the console, registered at the IdP
B = "OCB0000412"
T = {
    "fr": {
        "locale": "fr-FR",
        "login": "Identifiant",
        "password": "Mot de passe",
        "signin": "Se connecter",
        "title": "Mes invitations",
        "accepted": "Vous êtes désormais membre de",
        "mail": "Invitation à rejoindre",
    },
    "en": {
        "locale": "en-GB",
        "login": "Login",
        "password": "Password",
        "signin": "Sign in",
        "title": "My invitations",
        "accepted": "You are now a member of",
        "mail": "Invitation to join",
    },
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_member_of_a_accepts_an_invitation_to_b_and_sees_it_in_the_portal(  # type: ignore[no-untyped-def]
    browser, live_server: str, apps: dict[str, str], app: Flask, smtp: SmtpSink, lang: str
) -> None:
    t = T[lang]
    with app.app_context():
        person = factories.member("OCB0000124", "camille.roux")  # contract A (apps made it, Paul its referent)
        db.session.get(Account, person.account_id).language = lang
        factories.contract_with_referent(contract_id=B, login="jean.martin")
        invited = service.add_member(B, factories.identity("any.login", email=person.email), console_roles=["guest"])
        assert invited.invitation is not None and invited.membership is None
        db.session.commit()
    mail = smtp.wait_for_match(person.email, "next=invitations")
    assert t["mail"] in mail["Subject"] and B in text_of(mail)
    # Written by this test process, whose issuer differs from the live server's: follow the path.
    # The link proves the address (accepting needs that), then opens the invitations.
    path = re.search(r"https?://[^/\s]+(/email/verify/\S+)", text_of(mail)).group(1)  # type: ignore[union-attr]
    context = browser.new_context(locale=t["locale"])
    page = context.new_page()
    try:
        page.goto(live_server + path)  # not signed in yet: the login form, then back here
        page.get_by_label(t["login"], exact=True).fill(person.login)
        page.get_by_label(t["password"], exact=True).fill(person.password)
        page.get_by_role("button", name=t["signin"]).click()
        page.wait_for_url(live_server + "/invitations")
        assert page.locator("h1").inner_text() == t["title"]
        assert page.locator("html").get_attribute("lang") == lang
        page.click(f"#accept-{B}")
        page.wait_for_url(live_server + "/")
        assert t["accepted"] in page.locator(".flashes").inner_text()
        assert B in page.locator("table.contracts").inner_text()
        # the portal: the IdP's session signs in without a form, and the claims carry B
        page.goto(apps["portal"] + "/")
        page.click("#sign-in")
        page.wait_for_url(apps["portal"] + "/")
        assert page.locator(f"#contract-{B}").count() == 1
        assert "guest" in page.locator(f"#contract-{B}").inner_text()
    finally:
        context.close()
