"""The portal's section pages: each shows that section's rights table (seed guides) for
the signed-in person, only for sections their profile opens; FR/EN switch with CSRF."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from sso_clients import portal
from sso_clients.rp import RpConfig

CONTRACT = {"id": "OCB0000124", "name": "SL_Prod", "offer": "flexible-engine", "referent": False,
            "roles": {"contract": "visitor", "dashboard": "visitor", "orders": "none", "subscriptions": "none",
                      "services": "visitor", "invoices": "manager", "support": "none", "users": "visitor"},
            "console_roles": []}


@pytest.fixture
def signed_in(tmp_path: Path) -> FlaskClient:
    config = RpConfig(client_id="portal", client_secret="s", issuer="http://127.0.0.1:5000",
                      base_url="http://127.0.0.1:5001", scope="openid contracts", secret_key="k" * 32,
                      store_url=f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    app = portal.create_app(config)
    client = app.test_client()
    user: dict[str, Any] = {"name": "Jacques Dupont", "preferred_username": "jacques.dupont", "locale": "fr",
                            "sid": "s1", "contracts": [CONTRACT]}
    with client.session_transaction() as session:
        session["user"] = user
    return client


def you_column(html: str) -> list[str]:
    return re.findall(r'<td class="mark(?: granted)?">(✓|—)</td></tr>', html)


def test_home_links_only_the_sections_the_profile_opens(signed_in: FlaskClient) -> None:
    html = signed_in.get("/").text
    for name in ("contract", "dashboard", "services", "invoices", "users"):
        assert f'id="OCB0000124-{name}"' in html
    for name in ("orders", "subscriptions", "support"):
        assert f'id="OCB0000124-{name}"' not in html
    assert 'class="console"' not in html  # no console role, no console button
    assert 'href="http://127.0.0.1:5000/account"' in html


def test_a_section_page_shows_the_rights_for_this_profile(signed_in: FlaskClient) -> None:
    users = signed_in.get("/contracts/OCB0000124/users")
    assert users.status_code == 200 and "Visiteur" in users.text
    # visitor on Users: view and search yes; add, modify, delete no
    assert you_column(users.text) == ["✓", "✓", "—", "—", "—"]
    invoices = signed_in.get("/contracts/OCB0000124/invoices")
    assert you_column(invoices.text) == ["✓", "✓", "✓"]  # manager sees amounts and usage reports
    dashboard = signed_in.get("/contracts/OCB0000124/dashboard")
    assert you_column(dashboard.text) == ["✓", "—"]  # the console button needs a console role


def test_closed_and_unknown_sections_are_refused(signed_in: FlaskClient) -> None:
    assert signed_in.get("/contracts/OCB0000124/support").status_code == 403
    assert signed_in.get("/contracts/OCB0000412/users").status_code == 404  # not their contract
    assert signed_in.get("/contracts/OCB0000124/nothing").status_code == 404


def test_language_switch_needs_csrf_and_changes_the_page(signed_in: FlaskClient) -> None:
    assert "Vos contrats" in signed_in.get("/").text  # the person's locale at the IdP
    assert signed_in.post("/language", data={"lang": "en"}).status_code == 400  # no CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', signed_in.get("/").text)
    assert token
    switched = signed_in.post("/language", data={"lang": "en", "next": "//evil.example/", "csrf_token": token.group(1)})
    assert switched.headers["Location"] == "/"
    assert "Your contracts" in signed_in.get("/").text
