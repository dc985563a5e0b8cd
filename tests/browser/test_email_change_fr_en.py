"""Changing the email address in a real browser, French and English: the current password,
the confirmation link read from a real SMTP server, then the new address in the profile."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_selfservice_fr_en import T
from tests.browser.test_selfservice_fr_en import _sign_in
from tests.conftest import SmtpSink
from tests.conftest import text_of

WORDS = {
    "fr": {"requested": "Un lien de confirmation a été envoyé à", "confirm": "Confirmer ma nouvelle adresse email",
           "now": "Votre adresse email est désormais", "verified": "Adresse vérifiée."},
    "en": {"requested": "A confirmation link has been sent to", "confirm": "Confirm my new email address",
           "now": "Your email address is now", "verified": "Verified address."},
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_change_the_email_confirm_it_from_the_mail_and_see_it(  # type: ignore[no-untyped-def]
    browser, live_server: str, people, smtp: SmtpSink, lang: str
) -> None:
    t, w, person = T[lang], WORDS[lang], people[lang]
    new_email = f"{person.login}.new@example.test"
    context = browser.new_context(locale=t["locale"])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        _sign_in(page, t, person.login, person.password)
        page.wait_for_url(f"{live_server}/")
        page.get_by_role("link", name=t["account"]).click()
        page.get_by_label(t["email"], exact=True).fill(new_email)
        page.get_by_label(t["current"]).fill(person.password)
        page.get_by_role("button", name=t["update"]).click()
        assert w["requested"] in page.content()
        # Not yet: the profile still shows the old address until the new mailbox answers.
        assert page.get_by_label(t["email"], exact=True).input_value() == person.email
        mail = smtp.wait_for_match(new_email, "/email/confirm/")
        path = re.search(r"https?://[^/\s]+(/email/confirm/[A-Za-z0-9_.-]+)", text_of(mail)).group(1)  # type: ignore[union-attr]
        page.goto(live_server + path)
        page.get_by_role("button", name=w["confirm"]).click()
        assert w["now"] in page.locator("#email-link-done").inner_text()
        page.goto(f"{live_server}/logout")
        page.get_by_role("button", name=t["signout"]).click()
        _sign_in(page, t, person.login, person.password)
        page.wait_for_url(f"{live_server}/")
        page.get_by_role("link", name=t["account"]).click()
        assert page.get_by_label(t["email"], exact=True).input_value() == new_email
        assert w["verified"] in page.locator("#email-status").inner_text()
    finally:
        context.close()
