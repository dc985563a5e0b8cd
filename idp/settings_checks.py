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
import math
import string
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

# server.secret_key signs every session-form cookie and CSRF token (HMAC): it must carry the
# 128-bit strength NIST SP 800-57 asks of a key, estimated by ``secret_bits``.
SECRET_MIN_BITS = 128
SECRET_MIN_LENGTH = 32
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
_ALPHANUMERIC = frozenset(string.ascii_letters + string.digits)
_OTHER_PRINTABLE = 33  # ASCII punctuation and space; anything else counts as one of these

# Ranges (inclusive) checked in every environment, chosen so that no value in them weakens
# what the protocol promises; config.example.toml states each one beside its key.
BOUNDS: dict[str, tuple[int, int]] = {
    # Verification codes: long enough to read a mail, short enough to be worthless soon.
    "api.code_lifetime_seconds": (30, 900),
    # 6 digits and at most 10 tries: a guess succeeds with probability at most 1e-5.
    "api.code_max_tries": (1, 10),
    # SDK-HMAC-SHA256 replay window: clocks drift by seconds, not hours.
    "api.signature_window_seconds": (60, 3600),
    # Keystone tokens are bearer credentials: at most Huawei's 24 hours.
    "api.token_lifetime_seconds": (300, 86_400),
    "api.max_access_keys": (1, 10),
    "api.max_temporary_keys": (1, 100),
    # Keystone allow_expired: its default is 48 hours; a week at most.
    "api.allow_expired_window_seconds": (60, 604_800),
    # Signed OIDC tokens are not revoked before they expire: minutes, at most an hour.
    "oidc.id_token_lifetime_seconds": (60, 3600),
    "oidc.access_token_lifetime_seconds": (60, 3600),
    # A new key may be published at once (emergency rotation), never more than a week early.
    "oidc.key_publish_seconds": (1, 604_800),
    # Refresh families: never past 90 days, offline access never past 180 days.
    "oidc.refresh_family_lifetime_seconds": (300, 7_776_000),
    "oidc.offline_lifetime_seconds": (300, 15_552_000),
    # Back-channel logout: one call's wall-clock deadline, and the queue's threads per process.
    "oidc.backchannel_deadline_seconds": (1, 30),
    "oidc.backchannel_workers": (1, 32),
    # The maintenance run: often enough that abandoned sessions end (and their clients hear
    # of it) within minutes of their limit, seldom enough to cost nothing.
    "jobs.maintenance_interval_seconds": (30, 900),
}


class SettingsError(ValueError):
    """A settings file or variable that cannot be used; the message names the key."""


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an address, IPv6 without brackets) is this machine only."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_backchannel(settings: Any) -> None:
    """Back-channel delivery: an allow-list of networks, and a deadline within a job's claim
    (a longer call could be claimed and run again by another process meanwhile)."""
    oidc = settings.oidc
    for entry in oidc.backchannel_allowed_networks.replace(",", " ").split():
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(f"oidc.backchannel_allowed_networks: {entry!r} is not a CIDR network") from None
    if oidc.backchannel_deadline_seconds >= settings.jobs.claim_seconds:
        raise SettingsError("oidc.backchannel_deadline_seconds must be less than jobs.claim_seconds")


def secret_bits(secret: str, enough: int = SECRET_MIN_BITS) -> float:
    """A deliberately pessimistic estimate of a secret's entropy, in bits (up to ``enough``).

    Each character that cannot be predicted from what precedes it is worth log2 of the
    alphabet its character classes imply (26 lower, 26 upper, 10 digits, 33 others).
    Predicted, and worth nothing: the continuation of an earlier stretch of 4+ characters
    (``"0123456789" * 4`` is one stretch and its copies) and a run's fourth evenly spaced
    character onwards (``aaaa``, ``abcd``, ``2468``). No dictionary: this catches what a
    hurried operator types or generates badly, not a passphrase of common words. Measured:
    ``secrets.token_urlsafe(48)`` scores 360+, ``token_hex(16)`` (exactly 128 random bits)
    never less than 139 in 20,000 draws, so random output is not refused by chance.
    """
    secret = secret[:1024]  # quadratic below; no real secret is longer
    alphabet = sum(len(c) for c in _CLASSES if any(ch in c for ch in secret))
    if any(ch not in _ALPHANUMERIC for ch in secret):
        alphabet += _OTHER_PRINTABLE
    per_char = math.log2(alphabet) if alphabet > 1 else 0.0
    bits, i = 0.0, 0
    while i < len(secret) and bits < enough:
        repeat = max((_match_length(secret, j, i) for j in range(i)), default=0)
        if repeat >= 4:
            i += repeat
            continue
        if i >= 3 and len({ord(secret[k]) - ord(secret[k - 1]) for k in range(i - 2, i + 1)}) == 1:
            i += 1
            continue
        bits += per_char
        i += 1
    return bits


def _match_length(text: str, earlier: int, here: int) -> int:
    """How many characters from ``here`` repeat those from ``earlier`` (overlap allowed)."""
    n = 0
    while here + n < len(text) and text[earlier + n] == text[here + n]:
        n += 1
    return n


def _check_bounds(settings: Any) -> None:
    for key, (low, high) in BOUNDS.items():
        section, _, name = key.partition(".")
        value = getattr(getattr(settings, section), name)
        if not low <= value <= high:
            raise SettingsError(f"{key} must be between {low} and {high} (got {value})")
    api = urlsplit(settings.api.console_api_url)
    if api.scheme not in {"http", "https"} or not api.hostname:
        raise SettingsError("api.console_api_url must be an absolute http(s) URL")
    if not settings.api.region.strip():
        raise SettingsError("api.region must not be empty")


def _check_production(settings: Any) -> None:
    """What only production refuses: secrets, transport and logs that would expose users."""
    server = settings.server
    secret = server.secret_key
    if secret.strip().lower() in KNOWN_WEAK_SECRETS or len(secret) < SECRET_MIN_LENGTH:
        raise SettingsError(
            f"server.secret_key must be set to a random value of {SECRET_MIN_LENGTH}+ characters in production "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    bits = secret_bits(secret)
    if bits < SECRET_MIN_BITS:
        raise SettingsError(
            f"server.secret_key is too predictable (about {bits:.0f} of {SECRET_MIN_BITS} bits: repeats, runs "
            "or few kinds of characters); use python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    issuer = urlsplit(server.issuer)
    if issuer.scheme != "https" and not is_loopback(issuer.hostname):
        raise SettingsError("server.issuer must use https in production")
    pw = settings.passwords
    if not meets_owasp_minimum(pw.time_cost, pw.memory_cost_kib):
        raise SettingsError(
            "passwords: argon2id parameters below OWASP's minimum (e.g. m=47104 KiB t=1, "
            "m=19456 KiB t=2) are allowed in tests only"
        )
    if settings.mail.transport != "smtp":
        raise SettingsError(
            f'mail.transport = "{settings.mail.transport}" would put reset links and codes on stdout or disk: '
            'production needs "smtp"'
        )
    if settings.database.echo:
        raise SettingsError("database.echo must be false in production (it logs SQL parameters: mail bodies, tokens)")
    mail = settings.mail
    if mail.smtp_security == "none" and not is_loopback(mail.smtp_host):
        raise SettingsError(
            'mail.smtp_security = "none" would send reset links and codes in clear to another machine: '
            'production needs "starttls" or "tls" (or an SMTP relay on loopback)'
        )


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
    if server.environment != "production" and not is_loopback(issuer.hostname):
        # test and development relax what protects users (a captcha answer, cookies without
        # Secure, a generated secret): they never serve anyone but this machine.
        raise SettingsError(
            f"server.issuer must be on loopback (127.0.0.1, ::1, localhost) "
            f'when server.environment = "{server.environment}"'
        )
    if server.environment != "production" and server.trusted_proxies > 0:
        # Behind a proxy, the issuer on loopback would not say where it is served from.
        raise SettingsError(
            f'server.trusted_proxies must be 0 when server.environment = "{server.environment}" '
            "(test and development are never served through a proxy)"
        )
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
    _check_backchannel(settings)
    for name in ("session", "throttle", "selfservice", "oidc", "jobs", "api"):
        section = getattr(settings, name)
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 1:
                raise SettingsError(f"{name}.{f.name} must be at least 1")
    _check_bounds(settings)
    if settings.i18n.default_locale not in {"fr", "en"}:
        raise SettingsError("i18n.default_locale must be fr or en")
    if settings.captcha.test_answer and settings.server.environment != "test":
        raise SettingsError('captcha.test_answer is a test-only setting (environment = "test")')
    if settings.is_production:
        _check_production(settings)
