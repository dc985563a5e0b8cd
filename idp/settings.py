"""Settings: one TOML file plus ``IDP_<SECTION>__<KEY>`` environment overrides.

Loaded once into frozen dataclasses and validated before anything starts, so that a typo
or a dangerous production value stops the process instead of being silently ignored.
Every key is documented, with its default, in ``config.example.toml``; a test keeps the
two in step.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from idp.settings_checks import ENVIRONMENTS
from idp.settings_checks import SettingsError
from idp.settings_checks import meets_owasp_minimum
from idp.settings_checks import validate

__all__ = ["ENVIRONMENTS", "Settings", "SettingsError", "build", "load", "meets_owasp_minimum"]

ENV_PREFIX = "IDP_"
DEFAULT_CONFIG_FILE = "config.toml"


@dataclass(frozen=True)
class ServerSettings:
    environment: str = "development"
    issuer: str = "http://127.0.0.1:5000"
    secret_key: str = ""
    # Number of reverse proxies in front of us whose X-Forwarded-* headers we trust.
    trusted_proxies: int = 0
    # Directory for keys and generated secrets (signing keys land here in later releases).
    keys_dir: str = "keys"
    workers: int = 2
    threads: int = 8
    # "Contact us" in the pages' header (the guides' "Nous contacter"): a mailto: or https: URL.
    contact_url: str = "mailto:support@example.com"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///idp.sqlite3"  # relative SQLite paths live in instance/
    echo: bool = False
    pool_size: int = 10


@dataclass(frozen=True)
class PasswordSettings:
    # argon2id cost, sized by RFC 9106 §4 on the reference 2-core machine: 2 lanes, 64 MiB,
    # then the time cost that keeps one login near 100 ms (README "Password hashing").
    time_cost: int = 2
    memory_cost_kib: int = 65_536
    parallelism: int = 2
    # Concurrent hashes per process; the rest of the requests never wait behind them.
    hash_workers: int = 1
    # Logins allowed to wait for a hashing slot before we answer "busy, retry".
    hash_queue_limit: int = 64
    max_length: int = 128


@dataclass(frozen=True)
class SessionSettings:
    idle_timeout_seconds: int = 1800
    absolute_timeout_seconds: int = 43_200
    # Rewrite last_seen_at at most this often, to keep reads from turning into writes.
    touch_interval_seconds: int = 60


@dataclass(frozen=True)
class ThrottleSettings:
    account_max_failures: int = 10
    account_window_seconds: int = 900
    account_lockout_seconds: int = 300
    address_max_failures: int = 50
    address_window_seconds: int = 900
    address_lockout_seconds: int = 900


@dataclass(frozen=True)
class MailSettings:
    # smtp | file | console
    transport: str = "file"
    from_address: str = "Espace Client Cloud <no-reply@localhost>"
    # Where the file transport writes .eml files (relative to the working directory).
    outbox_dir: str = "instance/mail"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    # none | starttls | tls
    smtp_security: str = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: int = 10
    # The brand in the access email's button ("Set my Orange password") and in the console
    # access email ("your Orange account").
    brand: str = "Orange"


@dataclass(frozen=True)
class JobSettings:
    # Run the job queues (mail, back-channel logout) in the web processes, woken right after
    # the commit that queued a job (false: only `idp worker` runs them).
    run_in_process: bool = True
    # Poll for due jobs this often (also picks up jobs left by a crash or another process).
    poll_seconds: int = 5
    # A failed job is retried after base·2^(attempts-1) seconds, at most max.
    retry_base_seconds: int = 10
    retry_max_seconds: int = 3600
    # A claimed job not marked done after this long is claimed again.
    claim_seconds: int = 60
    # The periodic work (the `maintenance` queue): expired SSO sessions ended, expired rows
    # purged, this often.
    maintenance_interval_seconds: int = 300
    # Expired rows (codes, links, tokens of a dead family, Keystone tokens...) are kept this
    # long after they expire: replays are still recognised, allow_expired still answers.
    expired_retention_seconds: int = 172_800
    # Done jobs (their mail bodies are already emptied) are kept this long, for `idp outbox list`.
    done_retention_seconds: int = 604_800
    # Accounts left with no contract are disabled, kept this long for the audit trail, then
    # deleted by the maintenance run (a year; `idp users purge-disabled` sooner).
    disabled_account_retention_seconds: int = 31_536_000


@dataclass(frozen=True)
class CaptchaSettings:
    length: int = 5
    max_age_seconds: int = 600
    # environment = "test" only: an answer always accepted, for black-box tests.
    test_answer: str = ""


@dataclass(frozen=True)
class SelfServiceSettings:
    password_link_max_age_seconds: int = 86_400
    # Requests per address; per target and address, per target in all (captcha passed only).
    requests_per_address: int = 20
    requests_per_target: int = 5
    requests_per_target_total: int = 50
    request_window_seconds: int = 3600
    answer_floor_ms: int = 150  # recovery requests answer no sooner, whoever they name
    # Attempts on one reset link before it is dead.
    link_max_attempts: int = 5
    # Captcha images or sounds per address per window.
    captcha_per_address: int = 120
    captcha_window_seconds: int = 600
    # New captcha challenges (each form shown, each JSON captcha) per address per window; an
    # IPv6 address counts for its whole /64 (ratelimit.address_key).
    captcha_challenges_per_address: int = 60
    # Password changes (wrong current password included) per account per window.
    password_changes_per_account: int = 10
    # API password reset flows (step 1 to 2): their life, step-2 submissions, codes each.
    api_password_flow_seconds: int = 900
    api_password_flow_attempts: int = 10
    api_password_flow_codes: int = 3
    # Email-change requests (and "verify my address" links) per account and request window.
    email_changes_per_account: int = 5
    # An invitation to join one more contract (an existing identity added to it) can be
    # accepted this long (7 days).
    invitation_max_age_seconds: int = 604_800


@dataclass(frozen=True)
class RateLimitSettings:
    # database | redis: where counters shared by all processes live.
    backend: str = "database"
    redis_url: str = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class OidcSettings:
    # A new signing key is published this long before it signs anything (JWKS caches).
    key_publish_seconds: int = 3600
    # Lifetimes of the signed tokens; a retired key stays published until they have expired.
    id_token_lifetime_seconds: int = 600
    access_token_lifetime_seconds: int = 600
    # A refresh-token family lives at most this long from its first grant, whatever its
    # rotations, and never past its SSO session (30 days).
    refresh_family_lifetime_seconds: int = 2_592_000
    # offline_access (requested and consented): a family that outlives the session, this long
    # from its first grant (60 days, Keycloak's "Offline Session Max").
    offline_lifetime_seconds: int = 5_184_000
    # RS256 | ES256: what ID tokens are signed with unless a client asks otherwise.
    default_signing_alg: str = "RS256"
    # Back-channel logout delivery: one call (resolution, connect, TLS, request, status line
    # and headers) is dropped after this many seconds of wall-clock time, a failed attempt.
    backchannel_deadline_seconds: int = 5
    # Threads serving the backchannel-logout queue in each process that runs the queues: a
    # client that answers slowly holds one of them for at most the deadline.
    backchannel_workers: int = 4
    # Internal networks (CIDRs, comma-separated) that back-channel endpoints of clients not
    # registered as first-party may still reach; loopback, private, link-local and other
    # non-public addresses are refused otherwise. Example: "10.1.2.0/24, fd00:1::/64".
    backchannel_allowed_networks: str = ""


@dataclass(frozen=True)
class ApiSettings:
    # Keystone tokens (POST /v3/auth/tokens): Huawei's are valid 24 hours.
    token_lifetime_seconds: int = 86_400
    # Emailed verification codes (API password reset, access-key creation).
    code_lifetime_seconds: int = 60
    code_max_tries: int = 3
    # Access keys per console user, inactive ones included (Flexible Engine: 2).
    max_access_keys: int = 2
    # Live temporary keys (securitytokens) per console user; expired ones are deleted when
    # a new one is made, and all end when the API password changes.
    max_temporary_keys: int = 10
    # SDK-HMAC-SHA256: how far X-Sdk-Date may be from our clock, either way.
    signature_window_seconds: int = 900
    # GET /v3/auth/tokens?allow_expired=1 (services only, i.e. a first-party client's Basic
    # credentials) finds a token this long after it expired (Keystone's default: 48 hours).
    allow_expired_window_seconds: int = 172_800
    # The project name of the region (Huawei: the region id) and the console's API,
    # published in the Keystone catalog as the "compute" service.
    region: str = "eu-west-0"
    console_api_url: str = "http://127.0.0.1:5002"
    # The console's web address, linked from the console access email.
    console_url: str = "http://127.0.0.1:5002"


@dataclass(frozen=True)
class I18nSettings:
    default_locale: str = "fr"


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    json: bool = True


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    captcha: CaptchaSettings = field(default_factory=CaptchaSettings)
    selfservice: SelfServiceSettings = field(default_factory=SelfServiceSettings)
    ratelimit: RateLimitSettings = field(default_factory=RateLimitSettings)
    oidc: OidcSettings = field(default_factory=OidcSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    i18n: I18nSettings = field(default_factory=I18nSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)

    @property
    def is_production(self) -> bool:
        return self.server.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` everywhere but on a developer's or the tests' http."""
        return self.server.environment == "production"

    def replace(self, **sections: Mapping[str, Any]) -> Settings:
        """Return a copy with some keys changed, validated like a loaded file."""
        data = to_dict(self)
        for name, values in sections.items():
            data[name].update(values)
        return build(data)


def to_dict(settings: Settings) -> dict[str, dict[str, Any]]:
    return dataclasses.asdict(settings)


def _sections() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """Turn a TOML or environment value into the declared type, or say why not."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
            return False
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    raise SettingsError(f"{where}: expected {kind.__name__}, got {value!r}")


def build(data: Mapping[str, Any]) -> Settings:
    """Build validated settings from a nested mapping (file contents plus overrides)."""
    sections = _sections()
    unknown = set(data) - set(sections)
    if unknown:
        raise SettingsError(f"unknown section [{sorted(unknown)[0]}]")
    built: dict[str, Any] = {}
    for name, cls in sections.items():
        raw = data.get(name) or {}
        if not isinstance(raw, Mapping):
            raise SettingsError(f"[{name}] must be a table")
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        extra = set(raw) - known
        if extra:
            raise SettingsError(f"unknown key {name}.{sorted(extra)[0]}")
        values = {k: _coerce(v, hints[k], f"{name}.{k}") for k, v in raw.items()}
        built[name] = cls(**values)
    database = built["database"]
    url = database.url
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            # psycopg 3 is the driver we ship; plain URLs would ask SQLAlchemy for psycopg2.
            built["database"] = dataclasses.replace(database, url="postgresql+psycopg://" + url[len(prefix) :])
    settings = Settings(**built)
    validate(settings)
    return settings


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Collect ``IDP_SECTION__KEY=value`` variables into a nested mapping."""
    overrides: dict[str, dict[str, str]] = {}
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or "__" not in var:
            continue
        section, _, key = var[len(ENV_PREFIX) :].partition("__")
        overrides.setdefault(section.lower(), {})[key.lower()] = value
    return overrides


def load(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load settings from ``path`` (or ``IDP_CONFIG``, or ``config.toml`` if present)."""
    environ = os.environ if environ is None else environ
    explicit = path or environ.get("IDP_CONFIG")
    file = Path(explicit or DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{file}: {exc}") from None
    elif explicit:
        raise SettingsError(f"config file not found: {file}")
    for section, values in env_overrides(environ).items():
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            raise SettingsError(f"[{section}] must be a table")
        table.update(values)
    return build(data)
