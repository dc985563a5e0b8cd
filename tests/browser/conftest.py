"""Headless Debian Chromium driven by Playwright (the live server is in tests/conftest.py)."""

from __future__ import annotations

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def people(app) -> dict:  # type: ignore[no-untyped-def]
    """Paul (prefers French) and Jacques (prefers English), both with a password."""
    from idp.directory.models import Account
    from idp.extensions import db
    from tests import factories

    with app.app_context():
        paul = factories.contract_with_referent()
        jacques = factories.member("OCB0000124", "jacques.dupont")
        db.session.get(Account, jacques.account_id).language = "en"
        db.session.commit()
    return {"fr": paul, "en": jacques}
