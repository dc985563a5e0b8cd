"""Security headers on every response, errors as pages in the visitor's language (SEC-HDR)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("path", ["/login", "/", "/nope", "/healthz", "/static/style.css"])
def test_security_headers_everywhere(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
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
