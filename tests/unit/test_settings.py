"""Settings: file + environment, validation, and what production refuses."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from idp import settings as s
from idp.settings import SettingsError

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k" * 48


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = s.load(environ={})
    assert loaded == s.Settings()
    assert loaded.server.environment == "development"


def test_file_and_environment_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nissuer = "http://localhost:8000"\n[throttle]\naccount_max_failures = 3\n')
    loaded = s.load(path, environ={"IDP_THROTTLE__ACCOUNT_MAX_FAILURES": "7", "IDP_LOGGING__JSON": "false"})
    assert loaded.server.issuer == "http://localhost:8000"
    assert loaded.throttle.account_max_failures == 7
    assert loaded.logging.json is False


def test_idp_config_variable_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[i18n]\ndefault_locale = "en"\n')
    assert s.load(environ={"IDP_CONFIG": str(path)}).i18n.default_locale == "en"


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.Settings().server.environment = "production"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nope": {}}, "unknown section"),
        ({"server": {"nope": 1}}, "unknown key server.nope"),
        ({"server": {"environment": "staging"}}, "environment"),
        ({"throttle": {"account_max_failures": "many"}}, "expected int"),
        ({"throttle": {"account_max_failures": 0}}, "at least 1"),
        ({"passwords": {"max_length": 20}}, "at least 64"),
        ({"server": {"issuer": "ftp://x"}}, "issuer"),
        ({"i18n": {"default_locale": "de"}}, "fr or en"),
    ],
)
def test_invalid_values_are_refused(data: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        s.build(data)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        s.load(tmp_path / "missing.toml", environ={})


@pytest.mark.parametrize(
    ("server", "passwords", "message"),
    [
        ({}, {}, "secret_key"),
        ({"secret_key": "change-me"}, {}, "secret_key"),
        ({"secret_key": "short"}, {}, "secret_key"),
        ({"secret_key": GOOD_SECRET, "issuer": "http://idp.example.com"}, {}, "https"),
        ({"secret_key": GOOD_SECRET, "issuer": "https://idp.example.com"}, {"memory_cost_kib": 1024}, "test"),
        ({"secret_key": GOOD_SECRET, "issuer": "https://idp.example.com"},
         {"time_cost": 1, "memory_cost_kib": 19456}, "test"),
        ({"secret_key": GOOD_SECRET, "issuer": "https://idp.example.com"},
         {"time_cost": 2, "memory_cost_kib": 12288}, "test"),
    ],
)
def test_production_refuses_unsafe_settings(server: dict, passwords: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        s.build({"server": {"environment": "production", **server}, "passwords": passwords})


def test_production_accepts_safe_settings() -> None:
    prod = s.build({"server": {"environment": "production", "secret_key": GOOD_SECRET, "issuer": "https://idp.example.com"}})
    assert prod.secure_cookies
    owasp_t2 = s.build({"server": {"environment": "production", "secret_key": GOOD_SECRET,
                                   "issuer": "https://idp.example.com"},
                        "passwords": {"time_cost": 2, "memory_cost_kib": 19456}})
    assert owasp_t2.passwords.time_cost == 2
    loopback = s.build({"server": {"environment": "production", "secret_key": GOOD_SECRET, "issuer": "http://127.0.0.1:5000"}})
    assert loopback.is_production


def test_postgres_urls_use_psycopg3() -> None:
    assert s.build({"database": {"url": "postgresql://u@h/db"}}).database.url == "postgresql+psycopg://u@h/db"


def test_example_file_documents_every_key_with_its_default() -> None:
    text = (ROOT / "config.example.toml").read_text()
    example = tomllib.loads(text)
    assert s.build(example) == s.Settings()
    defaults = s.to_dict(s.Settings())
    assert {k: set(v) for k, v in example.items()} == {k: set(v) for k, v in defaults.items()}
    for section, values in example.items():
        for key in values:
            # each key has a comment on the line(s) above or the section has one
            assert re.search(rf"^{key} = ", text, re.M)
