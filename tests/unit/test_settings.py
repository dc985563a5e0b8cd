"""Settings: file + environment, validation, and what production refuses."""

from __future__ import annotations

import dataclasses
import re
import secrets
import tomllib
from pathlib import Path

import pytest

from idp import settings as s
from idp.settings import SettingsError
from idp.settings_checks import BOUNDS
from idp.settings_checks import secret_bits

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "NZhrT6cX-dIi5kHmMl1FhKUaBN23AK5GKHA54hIxNjh0pAQwx8uCbFUnSGE5XoQy"  # token_urlsafe(48)
# What production needs besides a secret: an https issuer and mail that leaves the machine.
PRODUCTION = {"environment": "production", "secret_key": GOOD_SECRET, "issuer": "https://idp.example.com"}
SMTP = {"transport": "smtp"}


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
        s.build({"server": {"environment": "production", **server}, "passwords": passwords, "mail": SMTP})


# Each refusal: the whole one-line message, which names the key and says why.
@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"mail": {"transport": "console"}},
         'mail.transport = "console" would put reset links and codes on stdout or disk: production needs "smtp"'),
        ({"mail": {"transport": "file"}},
         'mail.transport = "file" would put reset links and codes on stdout or disk: production needs "smtp"'),
        ({"mail": SMTP, "database": {"echo": True}},
         "database.echo must be false in production (it logs SQL parameters: mail bodies, tokens)"),
        ({"mail": SMTP, "captcha": {"test_answer": "PASS"}},
         'captcha.test_answer is a test-only setting (environment = "test")'),
        ({"mail": SMTP, "server": {"secret_key": "a" * 40}},
         "server.secret_key is too predictable (about 5 of 128 bits: repeats, runs or few kinds of characters); "
         "use python -c 'import secrets; print(secrets.token_urlsafe(48))'"),
        ({"mail": SMTP, "server": {"secret_key": "0123456789" * 4}},
         "server.secret_key is too predictable (about 10 of 128 bits: repeats, runs or few kinds of characters); "
         "use python -c 'import secrets; print(secrets.token_urlsafe(48))'"),
    ],
)
def test_production_refusals_name_the_key(sections: dict, message: str) -> None:
    data = {**sections, "server": {**PRODUCTION, **sections.get("server", {})}}
    with pytest.raises(SettingsError) as refused:
        s.build(data)
    assert str(refused.value) == message


@pytest.mark.parametrize("secret", [
    "k" * 48,
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",  # a run, however long
    "Passw0rd!" * 5,  # a repeated block
    "".join(secrets.choice("0123456789") for _ in range(38)),  # 126 random bits, not enough
])  # fmt: skip
def test_secret_key_is_checked_for_entropy_not_length(secret: str) -> None:
    assert len(secret) >= 32
    with pytest.raises(SettingsError, match=r"^server\.secret_key is too predictable"):
        s.build({"server": {**PRODUCTION, "secret_key": secret}, "mail": SMTP})


def test_random_secrets_pass_the_entropy_check() -> None:
    for _ in range(200):
        assert s.build({"server": {**PRODUCTION, "secret_key": secrets.token_urlsafe(48)}, "mail": SMTP}).is_production
        # exactly 128 random bits (hex) is enough too: the estimate does not refuse it by chance
        assert secret_bits(secrets.token_hex(16)) >= 128


@pytest.mark.parametrize("environment", ["test", "development"])
@pytest.mark.parametrize("issuer", ["https://idp.example.com", "http://10.0.0.5:5000", "http://0.0.0.0:5000"])
def test_relaxed_environments_stay_on_loopback(environment: str, issuer: str) -> None:
    with pytest.raises(SettingsError) as refused:
        s.build({"server": {"environment": environment, "issuer": issuer}})
    assert str(refused.value) == (
        f'server.issuer must be on loopback (127.0.0.1, ::1, localhost) when server.environment = "{environment}"'
    )


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:5000", "http://localhost:8000", "http://[::1]:5000"])
def test_loopback_issuers_serve_development_and_tests(issuer: str) -> None:
    assert s.build({"server": {"environment": "test", "issuer": issuer}}).server.issuer == issuer


@pytest.mark.parametrize("key", sorted(BOUNDS))
def test_api_and_oidc_values_are_checked_by_range_everywhere(key: str) -> None:
    section, _, name = key.partition(".")
    low, high = BOUNDS[key]
    for environment in ("development", "test"):
        for accepted in (low, high):
            built = s.build({"server": {"environment": environment}, section: {name: accepted}})
            assert getattr(getattr(built, section), name) == accepted
        with pytest.raises(SettingsError) as refused:
            s.build({"server": {"environment": environment}, section: {name: high + 1}})
        assert str(refused.value) == f"{key} must be between {low} and {high} (got {high + 1})"
        with pytest.raises(SettingsError, match=rf"^{re.escape(key)} must be (between|at least 1)"):
            s.build({section: {name: low - 1}})
    with pytest.raises(SettingsError, match=re.escape(key)):
        s.build({"server": PRODUCTION, "mail": SMTP, section: {name: high + 1}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"api": {"code_lifetime_seconds": -60}}, "api.code_lifetime_seconds must be at least 1"),
        ({"api": {"code_max_tries": 0}}, "api.code_max_tries must be at least 1"),
        ({"api": {"signature_window_seconds": 86_400}}, "api.signature_window_seconds must be between 60 and 3600"),
        ({"api": {"console_api_url": "console.example"}}, "api.console_api_url must be an absolute http(s) URL"),
        ({"api": {"region": " "}}, "api.region must not be empty"),
    ],
)
def test_api_values_named_in_the_message(data: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=f"^{re.escape(message)}"):
        s.build(data)


def test_production_accepts_safe_settings() -> None:
    prod = s.build({"server": PRODUCTION, "mail": SMTP})
    assert prod.secure_cookies
    owasp_t2 = s.build({"server": PRODUCTION, "mail": SMTP, "passwords": {"time_cost": 2, "memory_cost_kib": 19456}})
    assert owasp_t2.passwords.time_cost == 2
    loopback = s.build({"server": {**PRODUCTION, "issuer": "http://127.0.0.1:5000"}, "mail": SMTP})
    assert loopback.is_production


def test_postgres_urls_use_psycopg3() -> None:
    assert s.build({"database": {"url": "postgresql://u@h/db"}}).database.url == "postgresql+psycopg://u@h/db"


def test_example_file_documents_every_key_with_its_default() -> None:
    text = (ROOT / "config.example.toml").read_text()
    example = tomllib.loads(text)
    assert s.build(example) == s.Settings()
    defaults = s.to_dict(s.Settings())
    assert {k: set(v) for k, v in example.items()} == {k: set(v) for k, v in defaults.items()}
    for values in example.values():
        for key in values:
            # each key has a comment on the line(s) above or the section has one
            assert re.search(rf"^{key} = ", text, re.M)


def test_example_file_states_each_bound_beside_its_key() -> None:
    """An operator reads the allowed range where the key is, without opening the code."""
    text = (ROOT / "config.example.toml").read_text()
    for key, (low, high) in BOUNDS.items():
        section, _, name = key.partition(".")
        body = text.split(f"[{section}]\n", 1)[1].split("\n[", 1)[0].splitlines()
        line = next(i for i, row in enumerate(body) if row.startswith(f"{name} = "))
        comments = []
        for row in reversed(body[:line]):
            if not row.startswith("#"):
                break
            comments.append(row)
        assert f"Allowed: {low} to {high}." in " ".join(comments), key


@pytest.mark.parametrize("environment", ["test", "development"])
def test_relaxed_environments_trust_no_proxy(environment: str) -> None:
    with pytest.raises(SettingsError) as refused:
        s.build({"server": {"environment": environment, "trusted_proxies": 1}})
    assert str(refused.value) == (
        f'server.trusted_proxies must be 0 when server.environment = "{environment}" '
        "(test and development are never served through a proxy)"
    )
    assert s.build({"server": {"environment": environment}}).server.trusted_proxies == 0
    assert s.build({"server": {**PRODUCTION, "trusted_proxies": 2}, "mail": SMTP}).server.trusted_proxies == 2


@pytest.mark.parametrize("host", ["smtp.example.com", "10.0.0.25", "0.0.0.0"])  # noqa: S104 - refused
def test_production_refuses_clear_smtp_to_another_machine(host: str) -> None:
    with pytest.raises(SettingsError) as refused:
        s.build({"server": PRODUCTION, "mail": {**SMTP, "smtp_host": host, "smtp_security": "none"}})
    assert str(refused.value) == (
        'mail.smtp_security = "none" would send reset links and codes in clear to another machine: '
        'production needs "starttls" or "tls" (or an SMTP relay on loopback)'
    )


@pytest.mark.parametrize(
    "mail",
    [
        {"smtp_host": "smtp.example.com", "smtp_security": "starttls"},
        {"smtp_host": "smtp.example.com", "smtp_security": "tls"},
        {"smtp_host": "127.0.0.1", "smtp_security": "none"},  # a local relay
        {"smtp_host": "localhost", "smtp_security": "none"},
    ],
)
def test_production_accepts_tls_smtp_or_a_local_relay(mail: dict) -> None:
    assert s.build({"server": PRODUCTION, "mail": {**SMTP, **mail}}).is_production
    # outside production, a clear SMTP server elsewhere is the developer's business
    assert s.build({"mail": {**SMTP, "smtp_host": "smtp.example.com"}}).mail.smtp_host == "smtp.example.com"
