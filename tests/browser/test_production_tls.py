"""The product as it runs in production, driven by Chromium over https.

`idp init`, `idp clients create` and `idp serve --certfile --keyfile` with a production
configuration (a strong secret, an https loopback issuer, OWASP-minimum argon2, SMTP mail,
no captcha bypass), on a throw-away self-signed certificate for 127.0.0.1. Every form is
posted the way a browser posts it — with the Referer and Origin our Referrer-Policy lets it
send — so Flask-WTF's strict HTTPS check runs for real: login, forgot password and the reset
link from the mail, an OIDC consent for a third-party client, logout.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from idp.cli import cli
from idp.extensions import db
from idp.security.captcha import CaptchaChallenge
from tests.conftest import SmtpSink
from tests.conftest import free_port
from tests.conftest import link_in
from tests.helpers import pkce

# A third-party client's redirect URI on a name that never resolves (RFC 6761 .invalid): the
# browser's request to it is intercepted and answered by the test.
CALLBACK = "https://relying-party.invalid/callback"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A one-day certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certfile, keyfile


def _toml(data: dict[str, dict[str, object]]) -> str:
    return "".join(
        f"[{section}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
        for section, values in data.items()
    )


@pytest.fixture
def production_server(app: Flask, migrated: str, smtp: SmtpSink, tmp_path: Path) -> Iterator[str]:
    """`idp serve` in production over TLS on the test database; yields its https URL."""
    certfile, keyfile = _self_signed(tmp_path)
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    config = tmp_path / "production.toml"
    config.write_text(
        _toml(
            {
                "server": {
                    "environment": "production",
                    "issuer": base,
                    "secret_key": secrets.token_urlsafe(48),
                    "keys_dir": str(tmp_path / "production-keys"),
                },
                "database": {"url": migrated},
                # OWASP's minimum (m=19456 KiB, t=2, p=1): production refuses anything less.
                "passwords": {"time_cost": 2, "memory_cost_kib": 19_456, "parallelism": 1},
                "mail": {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port},
                "jobs": {"run_in_process": True},
                "logging": {"level": "WARNING"},
            }
        )
    )
    runner = CliRunner()
    for args in (
        ["init"],
        ["clients", "create", "--client-id", "partner", "--name", "Partner App", "--redirect-uri", CALLBACK],
    ):
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
    env = {**os.environ, "IDP_CONFIG": str(config)}
    for var in [v for v in env if v.startswith("IDP_") and v != "IDP_CONFIG"]:
        del env[var]  # nothing from the test run's environment changes what production refuses
    cmd = [sys.executable, "-m", "idp", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--certfile", str(certfile), "--keyfile", str(keyfile)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603 - our own server
    trust = ssl.create_default_context(cafile=str(certfile))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1, context=trust) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:]}") from None  # type: ignore[union-attr]
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _captcha_answer(app: Flask, challenge_id: str) -> str:
    """What the image shows, read where the server keeps it (production has no test answer)."""
    with app.app_context():
        challenge = db.session.get(CaptchaChallenge, challenge_id)
        assert challenge is not None
        answer = challenge.answer
        db.session.remove()
    return answer


def test_production_over_https(browser, production_server: str, app: Flask, people, smtp: SmtpSink) -> None:  # type: ignore[no-untyped-def]
    base, person = production_server, people["en"]
    new_password = "Prod#Ready-over-TLS-26"
    context = browser.new_context(ignore_https_errors=True, locale="en-GB")
    answers: list[tuple[str, str, int]] = []
    callbacks: list[dict[str, str]] = []

    def at_the_client(route) -> None:  # type: ignore[no-untyped-def]
        callbacks.append(route.request.headers)
        route.fulfill(status=200, content_type="text/plain", body="relying party")

    context.route(f"{CALLBACK}**", at_the_client)
    page = context.new_page()
    page.on("response", lambda r: answers.append((r.request.method, r.url, r.status)))
    try:
        first = page.goto(f"{base}/login")
        assert first is not None
        assert first.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert first.headers["referrer-policy"] == "same-origin"

        # forgot password: the captcha as a person reads it, the link from the real SMTP server
        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_label("Login", exact=True).fill(person.login)
        challenge = page.locator("input[name=captcha_id]").input_value()
        page.get_by_label("Copy the characters").fill(_captcha_answer(app, challenge))
        page.get_by_role("button", name="Validate").click()
        assert "Confirmation of your request" in page.locator("h1").inner_text()
        link = link_in(smtp.wait_for_match(person.email, "/reset-password/"))
        assert link.startswith(f"{base}/reset-password/")
        page.goto(link)
        page.get_by_label("New password").fill(new_password)
        page.get_by_label("Confirm your password").fill(new_password)
        page.get_by_role("button", name="Validate").click()
        page.wait_for_url(f"{base}/login")
        assert "Your password has been changed" in page.content()

        # login with the new password
        page.get_by_label("Login", exact=True).fill(person.login)
        page.get_by_label("Password", exact=True).fill(new_password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")
        assert page.locator("h1").inner_text().startswith("Hello")
        cookies = [c for c in context.cookies() if c["domain"] == "127.0.0.1"]
        assert {c["name"] for c in cookies} >= {"__Host-idp_session", "__Host-idp_form"}
        for cookie in cookies:
            assert cookie["name"].startswith("__Host-") and cookie["secure"] and cookie["path"] == "/", cookie

        # OIDC consent for a third-party client; its redirect URI answers nothing of ours
        _, challenge_s256 = pkce()
        params = {"response_type": "code", "client_id": "partner", "redirect_uri": CALLBACK, "scope": "openid",
                  "state": "st-prod", "nonce": secrets.token_urlsafe(8), "code_challenge": challenge_s256,
                  "code_challenge_method": "S256"}  # fmt: skip
        page.goto(f"{base}/authorize?{urlencode(params)}")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(f"{CALLBACK}**")
        got = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert got["state"] == "st-prod" and got["iss"] == base and len(got["code"]) >= 20
        # same-origin: the client learns nothing of the page it came from
        assert len(callbacks) == 1 and "referer" not in callbacks[0]

        # logout, from the home page's form
        page.goto(f"{base}/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{base}/login")
        assert "You are signed out." in page.content()
        assert "__Host-idp_session" not in {c["name"] for c in context.cookies()}
    finally:
        context.close()

    posts = [(url, status) for method, url, status in answers if method == "POST"]
    assert len(posts) >= 5, posts  # forgot, reset, login, consent, logout
    assert all(status < 400 for _, status in posts), posts
    assert not [a for a in answers if a[2] == 403], answers
