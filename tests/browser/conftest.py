"""A live `idp serve` on a free loopback port, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(app, config_file: Path, smtp) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve the test database with the production server, mail to the SMTP sink; yields its URL."""
    port = _free_port()
    env = {**os.environ, "IDP_CONFIG": str(config_file), "IDP_MAIL__SMTP_PORT": str(smtp.port),
           "IDP_MAIL__DISPATCH_IN_PROCESS": "true", "IDP_SERVER__ISSUER": f"http://127.0.0.1:{port}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "idp", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
