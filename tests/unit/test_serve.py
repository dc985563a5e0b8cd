"""`idp serve` in test or development serves this machine only: those environments relax
what protects users (a captcha answer, cookies without Secure), so start-up refuses a bind
address other than loopback; production binds where it is told."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from idp.cli import cli
from idp.cli import operations


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """What would have been served (gunicorn is not started), with the schema taken as current."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(operations, "run", lambda *args: calls.append(args))
    monkeypatch.setattr(operations.database, "is_current", lambda: True)
    return calls


def config(tmp_path: Path, environment: str) -> Path:
    lines = [
        "[server]",
        f'environment = "{environment}"',
        f'keys_dir = "{tmp_path / "keys"}"',
        f'secret_key = "{secrets.token_urlsafe(48)}"',
        "[database]",
        f'url = "sqlite:///{tmp_path / "idp.sqlite3"}"',
        "[mail]",
        'transport = "smtp"',
    ]
    if environment == "production":
        lines[1:1] = ['issuer = "https://idp.example.com"']
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("environment", ["test", "development"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "idp.example.com"])  # noqa: S104 - refused
def test_relaxed_environments_refuse_a_public_bind_address(
    tmp_path: Path, started: list[tuple[Any, ...]], environment: str, host: str
) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config(tmp_path, environment)), "serve", "--host", host])
    assert result.exit_code == 2, result.output
    assert f'--host {host}: server.environment = "{environment}" is served on loopback only' in result.output
    assert started == []


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost"])
def test_relaxed_environments_serve_loopback(tmp_path: Path, started: list[tuple[Any, ...]], host: str) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config(tmp_path, "development")), "serve", "--host", host])
    assert result.exit_code == 0, result.output
    assert [call[1] for call in started] == [host]


def test_production_binds_any_address(tmp_path: Path, started: list[tuple[Any, ...]]) -> None:
    path = config(tmp_path, "production")
    result = CliRunner().invoke(cli, ["--config", str(path), "serve", "--host", "0.0.0.0"])  # noqa: S104
    assert result.exit_code == 0, result.output
    assert [call[1] for call in started] == ["0.0.0.0"]  # noqa: S104
