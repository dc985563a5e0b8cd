"""Shared by the management API's tests: the portal registered for the API, people with the
profiles of the rights tables, and real access tokens obtained through the code flow."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient

from idp.directory import service
from idp.extensions import db
from idp.oidc import clients as registry
from idp.security import new_password
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import CB
from tests.helpers import ISSUER
from tests.helpers import pkce

FE, FCA = "OCB0000124", "OCB0000412"
SCOPE = "openid profile email contracts management"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Portal:
    client_id: str
    secret: str


def register_portal(app: Flask, client_id: str = "portal", *, management_api: bool = True) -> Portal:
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        reg = registry.create(
            client_id=client_id,
            name="Customer Area",
            redirect_uris=[CB],
            first_party=True,
            management_api=management_api,
        )
        db.session.commit()
        return Portal(client_id, reg.secret or "")


def fca_contract(app: Flask, contract_id: str = FCA, login: str = "anne.referente") -> factories.Person:
    """A Flexible Computing Advanced contract and its referent."""
    with app.app_context():
        _, result = service.create_contract(
            contract_id=contract_id,
            name="SI_qualif",
            offer="flexible-computing-advanced",
            company_name="ACME FCA",
            referent=factories.identity(login),
            siret="50161528000036",
        )
        assert result is not None and result.membership is not None
        account = result.membership.account
        new_password.apply(account, factories.PASSWORD, new_password.Reason.OPERATOR)
        db.session.commit()
        return factories.Person(account.login, account.email, factories.PASSWORD, account.id)


def person(
    app: Flask, contract_id: str, login: str, roles: dict[str, str] | None = None, console: list[str] | None = None
) -> factories.Person:
    with app.app_context():
        return factories.member(contract_id, login, roles=roles or {}, console_roles=console or [])


def _basic(portal: Portal) -> str:
    return "Basic " + base64.b64encode(f"{portal.client_id}:{portal.secret}".encode()).decode()


def token(app: Flask, who: factories.Person, portal: Portal, scope: str = SCOPE) -> str:
    """An access token of ``portal`` for ``who``, through login, /authorize and /token."""
    client = app.test_client()
    AuthActions(client).login(who.login, who.password)
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": portal.client_id,
        "redirect_uri": CB,
        "scope": scope,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = client.get("/authorize?" + urlencode(params))
    assert answer.status_code == 302, answer.text[:300]
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    exchanged = client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB, "code_verifier": verifier},
        headers={"Authorization": _basic(portal)},
    )
    assert exchanged.status_code == 200, exchanged.text
    access: str = exchanged.json["access_token"]
    return access


def live_token(base: str, who: factories.Person, portal: Portal, scope: str = SCOPE) -> str:
    """The same, against a running IdP over HTTP (the redirect URI is never contacted)."""
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=10)
    match = CSRF_RE.search(page.text)
    assert match
    browser.post(
        f"{base}/login",
        data={"csrf_token": match.group(1), "login": who.login, "password": who.password},
        allow_redirects=False,
        timeout=10,
    )
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": portal.client_id,
        "redirect_uri": CB,
        "scope": scope,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = browser.get(f"{base}/authorize?" + urlencode(params), allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    exchanged = requests.post(
        f"{base}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB, "code_verifier": verifier},
        headers={"Authorization": _basic(portal)},
        timeout=10,
    )
    assert exchanged.status_code == 200, exchanged.text
    access: str = exchanged.json()["access_token"]
    return access


class Api:
    """A test client calling the API with one person's bearer token."""

    def __init__(self, client: FlaskClient, access_token: str, lang: str = "en") -> None:
        self.client, self.token, self.lang = client, access_token, lang

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept-Language": self.lang, **extra}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self.headers(), **kw)

    def post(self, path: str, body: Any, key: str | None = "k-1", **kw: Any) -> Any:
        extra = {"Idempotency-Key": key} if key else {}
        return self.client.post("/api/v1" + path, json=body, headers=self.headers(**extra), **kw)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put("/api/v1" + path, json=body, headers=self.headers())

    def delete(self, path: str) -> Any:
        return self.client.delete("/api/v1" + path, headers=self.headers())


def api_for(app: Flask, who: factories.Person, portal: Portal, lang: str = "en") -> Api:
    return Api(app.test_client(), token(app, who, portal), lang)


def new_user(login: str, **extra: Any) -> dict[str, Any]:
    body = {
        "civility": "madame",
        "last_name": "Dupont",
        "first_name": login.split(".")[0].title(),
        "login": login,
        "email": f"{login}@example.test",
        "landline": "01 02 03 04 05",
        "language": "fr",
    }
    body.update(extra)
    return body


def error_of(response: Any, status: int) -> str:
    """The error code of a refusal, after checking its status and its body's shape."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


__all__ = ["FCA", "FE", "ISSUER", "Api", "Portal"]
