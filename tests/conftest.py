"""Fixtures: settings, a migrated database (SQLite or PostgreSQL), app, client, runner, auth.

The database comes from IDP_TEST_DATABASE_URL (PostgreSQL in the second pass of `make test`);
each run gets its own PostgreSQL schema, so runs never see each other's rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from idp import create_app
from idp import database
from idp.extensions import db
from idp.oidc import clients as registry
from idp.settings import Settings
from idp.settings import build
from tests import factories
from tests.helpers import CB

# Markers by folder, in one place: `make test-unit` runs `unit`; the PostgreSQL pass skips
# `unit` and `browser` (they do not depend on the database, so once is enough).
FOLDER_MARKERS = {"unit": "unit", "browser": "browser", "interop": "interop"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts
        marker = FOLDER_MARKERS.get(parts[0]) if len(parts) > 1 else "unit"  # tests/test_*.py: no database
        if marker:
            item.add_marker(getattr(pytest.mark, marker))


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SECRET = "test-secret-" + "x" * 40
TEST_CAPTCHA = "TESTOK"


@contextlib.contextmanager
def fresh_database(directory: Path, prefix: str = "t") -> Iterator[str]:
    """An empty database of the kind this run tests: a SQLite file, or a PostgreSQL schema of
    its own (from IDP_TEST_DATABASE_URL) dropped afterwards, so runs never see each other."""
    url = os.environ.get("IDP_TEST_DATABASE_URL", "").strip()
    if not url:
        yield f"sqlite:///{directory / f'{prefix}.sqlite3'}"
        return
    url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


def make_settings(database_url: str, keys_dir: Path, **sections: dict[str, Any]) -> Settings:
    data: dict[str, dict[str, Any]] = {
        "server": {"environment": "test", "secret_key": SECRET, "keys_dir": str(keys_dir)},
        "database": {"url": database_url},
        # Cheap argon2 for speed; production refuses these (tests check that too).
        "passwords": {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1, "hash_workers": 2},
        "logging": {"level": "WARNING"},
        # Black-box tests answer captchas with this; captcha tests read the real answer.
        "captcha": {"test_answer": TEST_CAPTCHA},
        # Tests deliver mail explicitly (outbox fixture); live-server tests turn this on.
        "mail": {"transport": "smtp", "smtp_port": 1},
        "jobs": {"run_in_process": False},
        # The recovery pages' answer floor (limits.steady) would slow every test that uses them.
        "selfservice": {"answer_floor_ms": 1},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return build(data)


@pytest.fixture(scope="session")
def migrated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    app = create_app(make_settings(database_url, tmp_path_factory.mktemp("keys")))
    with app.app_context():
        database.upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def settings(migrated: str, tmp_path: Path, settings_overrides: dict[str, dict[str, Any]]) -> Settings:
    return make_settings(migrated, tmp_path / "keys", **settings_overrides)


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    with app.app_context():
        _empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    app.extensions["idp.hasher"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class AuthActions:
    """Drive the login form like a browser: fetch the page, post it with its CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, login: str, password: str, lang: str = "en", **extra: str) -> Any:
        page = self.client.get("/login", headers={"Accept-Language": lang})
        data = {"csrf_token": csrf_token(page.text), "login": login, "password": password, **extra}
        return self.client.post("/login", data=data, headers={"Accept-Language": lang})

    def logout(self) -> Any:
        page = self.client.get("/logout")
        return self.client.post("/logout", data={"csrf_token": csrf_token(page.text)})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def paul(app: Flask) -> factories.Person:
    """The demo referent, with a known password, on a fresh contract."""
    with app.app_context():
        return factories.contract_with_referent()


@pytest.fixture
def rp(app: Flask, paul: factories.Person) -> dict[str, str]:
    """A first-party confidential client, a third-party one and a public one."""
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        portal = registry.create(client_id="portal", name="Customer Area", redirect_uris=[CB], first_party=True)
        other = registry.create(client_id="other", name="Other App", redirect_uris=["https://other.example/cb"])
        registry.create(client_id="spa", name="SPA", redirect_uris=["http://localhost:8080/cb"], public=True)
        db.session.commit()
    return {"portal": portal.secret or "", "other": other.secret or ""}


@pytest.fixture
def config_file(settings: Settings, tmp_path: Path) -> Path:
    """The test settings as a TOML file, for the command line."""
    lines = []
    for section, values in settings.__dict__.items():
        lines.append(f"[{section}]")
        for key, value in values.__dict__.items():
            lines.append(f"{key} = {json.dumps(value)}")
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.controller: Any = None

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def start(self) -> None:
        """(Re)start on the same port: a stopped controller cannot be started again."""
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for_match(self, address: str, needle: str, timeout: float = 15) -> EmailMessage:
        """The first message to ``address`` whose text contains ``needle``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.to(address):
                if needle in text_of(message):
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no message for {address} containing {needle!r} within {timeout}s")

    def wait_for(self, address: str, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {count} message(s) for {address} within {timeout}s: {[m['To'] for m in self.messages]}")


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage) -> str:
    match = re.search(r"https?://\S+/reset-password/[A-Za-z0-9_-]+", text_of(message))
    assert match, text_of(message)
    return match.group(0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


class Outbox:
    """Deliver what the app queued, through its real dispatcher and transport."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def deliver(self) -> int:
        return self.app.extensions["idp.jobs"].run_due()


@pytest.fixture
def mail_settings(smtp: SmtpSink) -> dict[str, Any]:
    return {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port}


@pytest.fixture
def outbox(app: Flask) -> Outbox:
    return Outbox(app)


@pytest.fixture
def live_server(app, config_file: Path, smtp) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve the test database with the production server, mail to the SMTP sink; yields its URL."""
    port = free_port()
    env = {**os.environ, "IDP_CONFIG": str(config_file), "IDP_MAIL__SMTP_PORT": str(smtp.port),
           "IDP_JOBS__RUN_IN_PROCESS": "true", "IDP_SERVER__ISSUER": f"http://127.0.0.1:{port}"}
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
