"""What settings may not be, checked once before anything starts (``settings.build``).

Values wrong anywhere (a negative window, an unknown transport) and values that must not
run in production (a test-only bypass, a weak secret) stop the process with one line that
names the key. Kept apart from the sections' declarations so that each rule is found in
one place; ``settings`` passes the built ``Settings`` in (typed loosely here: the
dataclasses import this module, not the other way round).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("production", "development", "test")

# OWASP Password Storage Cheat Sheet: equally strong argon2id settings (p=1), as the least
# memory (KiB) acceptable for each time cost. Anything below them is for tests only.
OWASP_MIN_MEMORY_KIB_BY_TIME_COST = {1: 47_104, 2: 19_456, 3: 12_288, 4: 9_216, 5: 7_168}


def meets_owasp_minimum(time_cost: int, memory_cost_kib: int) -> bool:
    return memory_cost_kib >= OWASP_MIN_MEMORY_KIB_BY_TIME_COST[min(time_cost, 5)]


# Values that must never protect a production deployment.
KNOWN_WEAK_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})


class SettingsError(ValueError):
    """A settings file or variable that cannot be used; the message names the key."""


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate(settings: Any) -> None:
    """Refuse values that are wrong anywhere, and defaults that are dangerous in production."""
    server = settings.server
    if server.environment not in ENVIRONMENTS:
        raise SettingsError(f"server.environment must be one of {', '.join(ENVIRONMENTS)}")
    issuer = urlsplit(server.issuer)
    if issuer.scheme not in {"http", "https"} or not issuer.hostname:
        raise SettingsError("server.issuer must be an absolute http(s) URL")
    if issuer.query or issuer.fragment:
        raise SettingsError("server.issuer must not have a query or fragment")
    pw = settings.passwords
    for key in ("time_cost", "memory_cost_kib", "parallelism", "hash_workers", "max_length"):
        if getattr(pw, key) < 1:
            raise SettingsError(f"passwords.{key} must be at least 1")
    if pw.max_length < 64:
        raise SettingsError("passwords.max_length must allow at least 64 characters")
    if settings.mail.transport not in {"smtp", "file", "console"}:
        raise SettingsError("mail.transport must be smtp, file or console")
    if settings.mail.smtp_security not in {"none", "starttls", "tls"}:
        raise SettingsError("mail.smtp_security must be none, starttls or tls")
    if settings.ratelimit.backend not in {"database", "redis"}:
        raise SettingsError("ratelimit.backend must be database or redis")
    if not 4 <= settings.captcha.length <= 8:
        raise SettingsError("captcha.length must be between 4 and 8")
    if settings.oidc.default_signing_alg not in {"RS256", "ES256"}:
        raise SettingsError("oidc.default_signing_alg must be RS256 or ES256")
    sections = (settings.session, settings.throttle, settings.selfservice, settings.oidc, settings.jobs, settings.api)
    for section in sections:
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 1:
                raise SettingsError(f"{type(section).__name__}.{f.name} must be at least 1")
    if settings.i18n.default_locale not in {"fr", "en"}:
        raise SettingsError("i18n.default_locale must be fr or en")
    if settings.captcha.test_answer and settings.server.environment != "test":
        raise SettingsError('captcha.test_answer is a test-only setting (environment = "test")')
    if not settings.is_production:
        return
    if server.secret_key.strip().lower() in KNOWN_WEAK_SECRETS or len(server.secret_key) < 32:
        raise SettingsError(
            "server.secret_key must be set to a random value of 32+ characters in production "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if issuer.scheme != "https" and not _is_loopback(issuer.hostname):
        raise SettingsError("server.issuer must use https in production")
    if not meets_owasp_minimum(pw.time_cost, pw.memory_cost_kib):
        raise SettingsError(
            "passwords: argon2id parameters below OWASP's minimum (e.g. m=47104 KiB t=1, "
            "m=19456 KiB t=2) are allowed in tests only"
        )
