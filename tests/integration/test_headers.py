"""Security headers on every response, errors as pages in the visitor's language (SEC-HDR)."""

from __future__ import annotations

import secrets

import pytest
from flask.testing import FlaskClient

from idp import create_app
from idp.extensions import db
from tests.conftest import csrf_token
from tests.conftest import make_settings


@pytest.mark.parametrize("path", ["/login", "/", "/nope", "/healthz", "/static/style.css"])
def test_security_headers_everywhere(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Never cross-origin; kept same-origin for the CSRF Referer check over https.
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_hsts_over_https(client: FlaskClient) -> None:
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_pages_are_not_cached(client: FlaskClient) -> None:
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style(client: FlaskClient) -> None:
    html = client.get("/login").text
    assert "<script>" not in html and "style=" not in html and "<style" not in html


def test_not_found_is_a_page_in_the_visitors_language(client: FlaskClient) -> None:
    fr = client.get("/nope", headers={"Accept-Language": "fr"})
    assert fr.status_code == 404 and "Cette page n&#39;existe pas." in fr.text
    en = client.get("/nope", headers={"Accept-Language": "en"})
    assert "This page does not exist." in en.text


def test_wrong_method_is_405(client: FlaskClient) -> None:
    assert client.put("/login").status_code == 405


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


def test_behind_a_trusted_proxy_forms_need_a_same_origin_referer(migrated: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Production behind one TLS proxy (server.trusted_proxies = 1, X-Forwarded-Proto): the
    request is https, so HSTS is sent and Flask-WTF's strict check wants a same-origin
    Referer — which Referrer-Policy: same-origin lets browsers send, and only to us."""
    prod = make_settings(migrated, tmp_path, server={
        "environment": "production", "secret_key": secrets.token_urlsafe(48), "issuer": "https://idp.example.com",
        "trusted_proxies": 1}, passwords={"time_cost": 2, "memory_cost_kib": 19456}, captcha={"test_answer": ""})
    app = create_app(prod)
    client = app.test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.com", "X-Forwarded-For": "203.0.113.7"}
    page = client.get("/login", headers=proxy)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert page.headers["Referrer-Policy"] == "same-origin"
    form = {"csrf_token": csrf_token(page.text), "login": "nobody", "password": "Wrong#Pass-1"}
    for referer, status in [(None, 403), ("https://evil.example/login", 403), ("http://idp.example.com/login", 403),
                            ("https://idp.example.com/login", 401)]:  # past CSRF: a wrong password
        headers = {**proxy, **({"Referer": referer} if referer else {})}
        assert client.post("/login", data=form, headers=headers).status_code == status, referer
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    app.extensions["idp.hasher"].close()
