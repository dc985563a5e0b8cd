"""API password reset and access-key creation on the My Credential page, in a real
browser, French and English, with the codes read from a real SMTP server."""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import pytest
from flask import Flask

from idp.directory import service
from idp.extensions import db
from tests.conftest import TEST_CAPTCHA
from tests.conftest import SmtpSink
from tests.conftest import text_of

T = {
    "fr": {"locale": "fr-FR", "company": "Compte entreprise (nom de domaine)", "email": "Email",
           "captcha": "Recopier les caractères", "get_code": "Obtenir le code", "new": "Nouveau mot de passe API",
           "confirm": "Confirmer le mot de passe API", "code": "Code de vérification reçu par email",
           "next": "Suivant", "done": "Votre mot de passe API a été défini", "login": "Identifiant",
           "password": "Mot de passe", "signin": "Se connecter", "my_credential": "Mes identifiants",
           "api_password": "Mot de passe API", "ok": "OK", "strong": "Fort", "deactivate": "Désactiver",
           "inactive": "Inactive", "created": "Clé d'accès créée"},
    "en": {"locale": "en-GB", "company": "Company account (domain name)", "email": "Email",
           "captcha": "Copy the characters", "get_code": "Get code", "new": "New API password",
           "confirm": "Confirm API password", "code": "Email verification code", "next": "Next",
           "done": "Your API password has been set", "login": "Login", "password": "Password", "signin": "Sign in",
           "my_credential": "My Credential", "api_password": "API password", "ok": "OK", "strong": "Strong",
           "deactivate": "Deactivate", "inactive": "Inactive", "created": "Access key created"},
}
API_PASSWORD = "Api#Password-2026"


CODE_RE = re.compile(r"^\s+(\d{6})\s*$", re.M)


def nth_code(smtp: SmtpSink, address: str, n: int, timeout: float = 15) -> str:
    """The ``n``-th verification code mailed to ``address`` (1-based), waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m.group(1) for m in (CODE_RE.search(text_of(x)) for x in smtp.to(address)) if m]
        if len(found) >= n:
            return found[n - 1]
        time.sleep(0.05)
    raise AssertionError(f"no code number {n} for {address}")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_api_password_reset_then_key_creation(browser, live_server: str, people, smtp: SmtpSink,  # type: ignore[no-untyped-def]
                                              app: Flask, lang: str) -> None:
    t, person = T[lang], people[lang]
    with app.app_context():
        service.set_console_roles("OCB0000124", person.login, ["admin"])  # Paul has it as referent already
        db.session.commit()
    context = browser.new_context(locale=t["locale"])
    page = context.new_page()
    try:
        # Reset API password in the guide's order: step 1 (company account, email, captcha, Next),
        # step 2 (the password twice, Get code, then the code and Next)
        page.goto(f"{live_server}/api-password")
        page.get_by_label(t["company"]).fill("OCB0000124")
        page.get_by_label(t["email"], exact=True).fill(person.email)
        page.get_by_label(t["captcha"]).fill(TEST_CAPTCHA)
        page.get_by_role("button", name=t["next"]).click()
        page.get_by_label(t["new"]).fill(API_PASSWORD)
        page.get_by_label(t["confirm"]).fill(API_PASSWORD)
        page.get_by_role("button", name=t["get_code"], exact=True).click()
        code = nth_code(smtp, person.email, 1)
        assert page.get_by_label(t["new"]).input_value() == API_PASSWORD  # still filled in
        page.get_by_label(t["code"]).fill(code)
        page.get_by_label(t["code"]).press("Enter")  # Enter in the code field means Next
        assert t["done"] in page.locator("#done").inner_text()
        # My Credential: sign in, API password + emailed code, the secret shown once
        page.goto(f"{live_server}/login?next=/my-credential")
        page.get_by_label(t["login"], exact=True).fill(person.login)
        page.get_by_label(t["password"], exact=True).fill(person.password)
        page.get_by_role("button", name=t["signin"]).click()
        assert t["my_credential"] in page.locator("h1").inner_text()
        assert page.locator("#user-name").inner_text() == person.login
        assert page.locator("#domain-name").inner_text() == "OCB0000124"
        assert "***" in page.locator("#email").inner_text() and person.email not in page.content()
        assert t["strong"] in page.locator("#api-password-level").inner_text()
        page.get_by_label(t["api_password"], exact=True).fill(API_PASSWORD)
        page.get_by_role("button", name=t["get_code"]).click()
        code = nth_code(smtp, person.email, 2)
        page.get_by_label(t["api_password"], exact=True).fill(API_PASSWORD)
        page.get_by_label(t["code"]).fill(code)
        page.get_by_role("button", name=t["ok"]).click()
        assert t["created"] in page.locator("h1").inner_text()
        access, secret = page.locator("#new-access").inner_text(), page.locator("#new-secret").inner_text()
        assert re.fullmatch(r"[A-Z0-9]{20}", access) and re.fullmatch(r"[A-Za-z0-9]{40}", secret)
        csv = unquote(page.locator("#download").get_attribute("href") or "")
        assert f"{access},{secret}" in csv
        # back on the page: the key is listed, never its secret; deactivate it
        page.goto(f"{live_server}/my-credential")
        row = page.locator(f"#key-{access}")
        assert access in row.inner_text() and secret not in page.content()
        row.get_by_role("button", name=t["deactivate"]).click()
        assert page.locator(f"#key-{access} .status").inner_text() == t["inactive"]
    finally:
        context.close()
