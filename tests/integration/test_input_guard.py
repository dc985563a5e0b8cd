"""A NUL character anywhere in a request is one clear 400, never a database error (a 500 on
PostgreSQL, which cannot store it), whichever entry point it reaches."""

from __future__ import annotations

import base64
import logging

import pytest
from flask import Flask
from flask import url_for
from flask.testing import FlaskClient
from werkzeug.routing.converters import NumberConverter

from idp.security import input_guard
from tests.conftest import TEST_CAPTCHA
from tests.conftest import csrf_token
from tests.factories import Person


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/forgot-password?login=paul%00dupont", {}),
        ("post", "/forgot-login", {"data": {"email": "paul\x00@example.test", "captcha": TEST_CAPTCHA}}),
        ("post", "/login", {"data": {"login": "paul.dupont\x00", "password": "x"}}),
        ("post", "/v3.0/api-password/flows", {"json": {"company_account": "OCB0000124", "email": "a\x00@b.fr",
                                                       "captcha_id": "x", "captcha": TEST_CAPTCHA}}),
        ("post", "/v3/auth/tokens", {"json": {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "paul\x00", "password": "x", "domain": {"name": "OCB0000124"}}}}}}}),
        ("get", "/reset-password/abc%00def", {}),
    ],
)
def test_nul_characters_are_refused_with_a_400(client: FlaskClient, paul: Person, method: str, path: str,
                                               kwargs: dict) -> None:
    if "data" in kwargs:  # a real form post: with its CSRF token, so that only the NUL is wrong
        page = client.get(path.split("?")[0])
        kwargs["data"]["csrf_token"] = csrf_token(page.text)
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 400


def test_requests_without_nul_still_pass(client: FlaskClient, paul: Person) -> None:
    assert client.get("/forgot-password?login=paul.dupont").status_code == 200


# --- JSON bodies: depth and size bounded before any view -----------------------------------

DEEP = "[" * 20_000 + "]" * 20_000  # 40 KB: under the size limit, far over the depth limit


def body_endpoints(app: Flask) -> list[tuple[str, str, str]]:
    """(method, path, endpoint) of every rule taking a body, from the URL map itself, so a
    new endpoint is covered without editing this test; path parameters get a dummy value."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
            values = {name: 1 if isinstance(rule._converters[name], NumberConverter) else "x"
                      for name in rule.arguments}
            with app.test_request_context():
                path = url_for(rule.endpoint, **values) if values else rule.rule
            found.append((method, path, rule.endpoint))
    return found


def test_a_deeply_nested_json_body_is_a_400_on_every_endpoint(app: Flask, client: FlaskClient, paul: Person,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    endpoints = body_endpoints(app)
    assert {("POST", "/v3/auth/tokens"), ("POST", "/v3/ec2tokens"), ("POST", "/token")} <= {
        (m, p) for m, p, _ in endpoints}
    caplog.set_level(logging.WARNING)
    for method, path, endpoint in endpoints:
        response = client.open(path, method=method, data=DEEP, content_type="application/json")
        assert response.status_code == 400, (method, path, response.status_code)
        if endpoint.startswith(("keystone.", "credentials.", "iam_services.", "api_password_json.")):
            assert response.get_json()["error"] == {"code": 400, "title": "Bad Request",
                                                    "message": "The request body is nested too deeply."}, path
        elif endpoint in {"oidc.token", "oidc.revoke", "oidc.introspect", "oidc.userinfo"}:
            assert response.get_json()["error"] == "invalid_request", path
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_json_within_the_depth_limit_reaches_the_view(client: FlaskClient) -> None:
    nested: object = "x"
    for _ in range(input_guard.MAX_JSON_DEPTH - 1):
        nested = {"a": nested}
    response = client.post("/v3/auth/tokens", json={"auth": nested})
    assert response.status_code == 400 and "nested" not in response.get_json()["error"]["message"]
    too_deep = client.post("/v3/auth/tokens", json={"auth": {"a": nested}})
    assert "nested too deeply" in too_deep.get_json()["error"]["message"]


def test_brackets_inside_strings_do_not_count(client: FlaskClient) -> None:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "[" * 5000 + '\\"{' * 1000, "password": "x", "domain": {"name": "OCB0000124"}}}}}}
    response = client.post("/v3/auth/tokens", json=body)
    assert response.status_code == 401 and response.get_json()["error_code"] == "IAM.0062"


def test_a_body_over_the_size_limit_is_a_413_in_each_apis_shape(client: FlaskClient) -> None:
    big = '{"auth": "' + "x" * input_guard.MAX_BODY_BYTES + '"}'
    keystone = client.post("/v3/auth/tokens", data=big, content_type="application/json")
    assert keystone.status_code == 413 and keystone.get_json()["error"]["code"] == 413
    oauth = client.post("/token", data=big, content_type="application/json")
    assert oauth.status_code == 413 and oauth.get_json()["error"] == "invalid_request"
    page = client.post("/login", data={"login": "x" * input_guard.MAX_BODY_BYTES})
    assert page.status_code == 413


def test_a_nul_in_an_apis_json_is_refused_in_its_own_shape(client: FlaskClient) -> None:
    response = client.post("/v3/auth/tokens", json={"auth": "a\x00b"})
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]["message"]


# --- HTTP Basic credentials: decoded once, before any view ---------------------------------

BAD_BASIC = {
    "not utf-8": "Basic //4=",
    "nul in the client id": "Basic " + base64.b64encode(b"a\x00b:x").decode(),
    "percent-encoded nul": "Basic " + base64.b64encode(b"a%00b:x").decode(),
    "control character in the secret": "Basic " + base64.b64encode(b"portal:se\x01cret").decode(),
    "not base64": "Basic !!not-base64!!",
    "no colon": "Basic " + base64.b64encode(b"portal").decode(),
}
# Every endpoint that reads Basic credentials, with what it otherwise needs.
BASIC_ENDPOINTS = [
    ("POST", "/token", {"data": {"grant_type": "authorization_code", "code": "x", "redirect_uri": "x"}}),
    ("POST", "/introspect", {"data": {"token": "x"}}),
    ("POST", "/revoke", {"data": {"token": "x"}}),
    ("GET", "/v3/auth/tokens", {"headers": {"X-Subject-Token": "x"}}),
    ("POST", "/v3/ec2tokens", {"json": {"credentials": {}}}),
]


@pytest.mark.parametrize("case", list(BAD_BASIC))
@pytest.mark.parametrize(("method", "path", "kwargs"), BASIC_ENDPOINTS)
def test_malformed_basic_credentials_are_a_400_in_each_apis_shape(
    client: FlaskClient, rp: dict[str, str], caplog: pytest.LogCaptureFixture, case: str, method: str, path: str,
    kwargs: dict,
) -> None:
    caplog.set_level(logging.WARNING)
    headers = {**kwargs.get("headers", {}), "Authorization": BAD_BASIC[case]}
    response = client.open(path, method=method, headers=headers, **{k: v for k, v in kwargs.items() if k != "headers"})
    assert response.status_code == 400, (case, path, response.status_code, response.text)
    if path.startswith("/v3/"):
        assert response.get_json()["error"]["code"] == 400 and "Basic" in response.get_json()["error"]["message"]
    else:
        assert response.get_json()["error"] == "invalid_request"
        assert "Basic" in response.get_json()["error_description"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_well_formed_basic_credentials_still_reach_the_view(client: FlaskClient, rp: dict[str, str]) -> None:
    good = "Basic " + base64.b64encode(f"portal:{rp['portal']}".encode()).decode()
    introspected = client.post("/introspect", data={"token": "unknown"}, headers={"Authorization": good})
    assert introspected.status_code == 200 and introspected.get_json() == {"active": False}
    wrong = "Basic " + base64.b64encode(b"portal:wrong").decode()
    assert client.post("/introspect", data={"token": "x"}, headers={"Authorization": wrong}).status_code == 401
