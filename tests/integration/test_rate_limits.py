"""Abuse limits: per address and per target, shared counters, clear answers (SEC-BF-06)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from idp.security.counters import RedisCounter
from tests.conftest import TEST_CAPTCHA
from tests.conftest import csrf_token


@pytest.fixture
def settings_overrides() -> dict:
    return {"selfservice": {"requests_per_target": 3, "requests_per_address": 5}}


def ask(client: FlaskClient, login: str, address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    env = {"REMOTE_ADDR": address}
    page = client.get("/forgot-password", headers={"Accept-Language": "en"}, environ_base=env)
    cid = re.search(r'name="captcha_id" type="hidden" value="([^"]+)"', page.text).group(1)
    return client.post("/forgot-password", headers={"Accept-Language": "en"}, environ_base=env, data={
        "csrf_token": csrf_token(page.text), "login": login, "captcha_id": cid, "captcha": TEST_CAPTCHA})


def test_per_target_limit_answers_429_with_a_message(client: FlaskClient) -> None:
    for i in range(3):
        assert ask(client, "paul.dupont", address=f"198.51.100.{i}").status_code == 200
    refused = ask(client, "PAUL.dupont", address="198.51.100.9")  # same target, whatever the case
    assert refused.status_code == 429
    assert "Too many requests. Please try again in an hour." in refused.text
    assert ask(client, "other.login", address="198.51.100.9").status_code == 200


def test_per_address_limit(client: FlaskClient) -> None:
    for i in range(5):
        assert ask(client, f"login.number{i}").status_code == 200
    assert ask(client, "login.number9").status_code == 429


def test_app_uses_redis_when_configured(settings) -> None:  # type: ignore[no-untyped-def]
    from idp import create_app

    app = create_app(settings.replace(ratelimit={"backend": "redis"}))
    assert isinstance(app.extensions["idp.counter"], RedisCounter)
