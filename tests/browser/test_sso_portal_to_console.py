"""Single sign-on across the two relying applications, in a real browser: log in on the
portal, open the console from the portal without a login form, log out from the console
(a POST with its CSRF token: following a link to /logout does nothing), and find the portal
session gone (back-channel logout). Each app runs two gunicorn workers on its shared store,
so a session or a logout seen by one worker holds in the other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from idp.extensions import db
from idp.oidc import clients as registry
from tests import factories
from tests.conftest import free_port


def _wait(url: str, proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:]) from None
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@pytest.fixture
def apps(app: Flask, live_server: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The portal and the console, registered at the IdP and served by gunicorn (two
    workers each, sharing the app's store)."""
    ports = {"portal": free_port(), "console": free_port()}
    env = {**os.environ, "IDP_SERVER__ISSUER": live_server}
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        factories.contract_with_referent()
        for name, port in ports.items():
            base = f"http://127.0.0.1:{port}"
            reg = registry.create(client_id=name, name=name.title(), redirect_uris=[f"{base}/callback"],
                                  post_logout_redirect_uris=[f"{base}/"],
                                  backchannel_logout_uri=f"{base}/backchannel-logout", first_party=True)
            prefix = name.upper()
            env.update({f"{prefix}_CLIENT_SECRET": reg.secret or "", f"{prefix}_BASE_URL": base,
                        f"{prefix}_STORE_URL": f"sqlite:///{tmp_path / name}.sqlite3"})
        db.session.commit()
    env["CONSOLE_BASE_URL"] = f"http://127.0.0.1:{ports['console']}"
    procs = []
    try:
        for name, port in ports.items():
            proc = subprocess.Popen(  # noqa: S603 - our own apps, arguments from the test
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                 f"sso_clients.{name}:create_app()"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(proc)
            _wait(f"http://127.0.0.1:{port}/", proc)
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_portal_to_console_and_single_logout(browser, live_server: str, apps: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    try:
        # log in on the portal (through the IdP's form)
        page.goto(apps["portal"] + "/")
        page.click("#sign-in")
        page.get_by_label("Identifiant", exact=True).fill("paul.dupont")
        page.get_by_label("Mot de passe", exact=True).fill(factories.PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(apps["portal"] + "/")
        assert "paul.dupont" in page.locator("#person").inner_text()
        assert page.locator("#OCB0000124-users").inner_text() == "Utilisateurs"
        # a section page shows that section's rights table for this person
        page.click("#OCB0000124-users")
        assert page.locator("#profile").inner_text() == "Gestionnaire"
        assert "Supprimer un utilisateur" in page.locator("#rights").inner_text()
        # the language switch, and My account at the IdP
        page.click("#lang-en")
        assert page.locator("#profile").inner_text() == "Manager"
        assert page.locator("#my-account").get_attribute("href") == live_server + "/account"
        page.goto(apps["portal"] + "/")
        # open the console from the portal: no login form on the way
        page.click("#contract-OCB0000124 a.console")
        page.wait_for_url(apps["console"] + "/")
        assert page.locator("#company").inner_text() == "OCB0000124"
        assert page.locator("#roles").inner_text() == "admin"
        # a GET of /logout (a link, an image on another site) signs nobody out
        page.goto(apps["console"] + "/logout")
        page.wait_for_url(apps["console"] + "/")
        assert page.locator("#company").inner_text() == "OCB0000124"
        # log out from the console: the button posts the form with its CSRF token
        page.click("#sign-out")
        page.wait_for_url(apps["console"] + "/")
        assert page.locator("#sign-in").count() == 1
        # the portal's session is gone too (back-channel logout, delivered by the IdP)
        for _ in range(50):
            page.goto(apps["portal"] + "/")
            if page.locator("#sign-in").count():
                break
            time.sleep(0.2)
        assert page.locator("#sign-in").count() == 1
    finally:
        context.close()


def test_console_direct_access_asks_the_company_account_then_the_login(browser, live_server: str,  # type: ignore[no-untyped-def]
                                                                     apps: dict[str, str], app: Flask) -> None:
    with app.app_context():
        from sqlalchemy import update

        from idp.oidc.models import OAuth2Client

        db.session.execute(update(OAuth2Client).where(OAuth2Client.client_id == "console").values(console_login=True))
        db.session.commit()
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        page.goto(apps["console"] + "/")
        page.click("#sign-in")
        page.get_by_label("Company account (domain name)").fill("OCB0000124")
        page.get_by_label("Remember my Business Account").check()
        page.get_by_role("button", name="Go to log in").click()
        page.get_by_label("Login", exact=True).fill("paul.dupont")
        page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(apps["console"] + "/")
        assert page.locator("#company").inner_text() == "OCB0000124"
        assert page.locator("#roles").inner_text() == "admin"
    finally:
        context.close()
