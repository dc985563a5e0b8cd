"""Keystone's ``allow_expired``: for services only, within a window (48 h by default).

A service (a first-party client authenticating with HTTP Basic, as for ``/v3/ec2tokens``:
Keystone's ``service`` role) may validate any token, and with ``?allow_expired=1`` one that
expired up to ``api.allow_expired_window_seconds`` ago — it checks, late, a request that
arrived with a then-valid token. Anyone else's ``allow_expired`` is ignored, as if absent."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import clock
from tests.factories import Person
from tests.integration.test_access_keys import API_PASSWORD
from tests.integration.test_access_keys import keystone_token
from tests.integration.test_access_keys import set_api_password

DAY = 86_400  # a Keystone token's life (api.token_lifetime_seconds)
WINDOW = 172_800


@pytest.fixture
def token(app: Flask, client: FlaskClient, paul: Person) -> str:
    set_api_password(app, API_PASSWORD)
    return keystone_token(client)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def check(
    client: FlaskClient, subject: str, headers: dict[str, str], allow_expired: bool = True, method: str = "GET"
) -> Any:
    path = "/v3/auth/tokens?nocatalog" + ("&allow_expired=1" if allow_expired else "")
    return client.open(path, method=method, headers={**headers, "X-Subject-Token": subject})


def test_a_service_validates_any_live_token_without_a_token_of_its_own(
    client: FlaskClient, token: str, rp: dict[str, str]
) -> None:
    response = check(client, token, basic("portal", rp["portal"]), allow_expired=False)
    assert response.status_code == 200 and response.get_json()["token"]["user"]["name"] == "paul.dupont"


def test_a_service_sees_an_expired_token_within_the_window_only(
    client: FlaskClient, token: str, rp: dict[str, str]
) -> None:
    service = basic("portal", rp["portal"])
    with clock.shifted(timedelta(seconds=DAY + 60)):  # expired a minute ago
        assert check(client, token, service).status_code == 200
        assert check(client, token, service, method="HEAD").status_code == 200
        assert check(client, token, service, allow_expired=False).status_code == 404
    with clock.shifted(timedelta(seconds=DAY + WINDOW - 5)):
        assert check(client, token, service).status_code == 200
    with clock.shifted(timedelta(seconds=DAY + WINDOW + 5)):
        assert check(client, token, service).status_code == 404


@pytest.mark.parametrize("settings_overrides", [{"api": {"allow_expired_window_seconds": 600}}])
def test_the_window_is_a_setting(client: FlaskClient, token: str, rp: dict[str, str]) -> None:
    service = basic("portal", rp["portal"])
    with clock.shifted(timedelta(seconds=DAY + 590)):
        assert check(client, token, service).status_code == 200
    with clock.shifted(timedelta(seconds=DAY + 610)):
        assert check(client, token, service).status_code == 404


def test_allow_expired_is_ignored_for_a_console_users_token(client: FlaskClient, token: str) -> None:
    """Paul is his contract's console admin: he may check his and his domain's tokens, live ones."""
    with clock.shifted(timedelta(seconds=DAY + 60)):
        fresh = keystone_token(client)
        response = check(client, token, {"X-Auth-Token": fresh})
        assert response.status_code == 404 and response.get_json()["error_code"] == "IAM.0009"
        assert check(client, fresh, {"X-Auth-Token": fresh}).status_code == 200  # the flag is harmless on live ones


def test_a_revoked_token_is_never_found(client: FlaskClient, token: str, rp: dict[str, str]) -> None:
    own = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert client.delete("/v3/auth/tokens", headers=own).status_code == 204
    assert check(client, token, basic("portal", rp["portal"])).status_code == 404


def test_not_a_service(client: FlaskClient, token: str, rp: dict[str, str]) -> None:
    """A third-party client, or a wrong secret, is no service: without a token of its own, 401."""
    for headers in (basic("other", rp["other"]), basic("portal", "wrong"), {}):
        with clock.shifted(timedelta(seconds=DAY + 60)):
            response = check(client, token, headers)
        assert response.status_code == 401 and response.get_json()["error_code"] == "IAM.0001"
