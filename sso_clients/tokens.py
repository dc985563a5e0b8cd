"""Checking what the IdP signs: its keys (JWKS) kept between requests, and logout tokens
checked as OpenID Connect Back-Channel Logout 1.0 §2.6 says."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from typing import cast

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import KeySetSerialization

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: What the IdP signs with; never ``none``, never a MAC (its key would be our client secret).
ALGORITHMS = ["RS256", "PS256", "ES256"]
#: A logout token longer than this is not one (refused before any parsing).
MAX_TOKEN_LENGTH = 8192
MAX_CLAIM_LENGTH = 255


class KeysUnavailable(Exception):
    """The IdP's keys could not be fetched and none are known."""


class JwksCache:
    """The IdP's public keys, fetched once and kept ``max_age`` seconds. A token signed with
    a key we do not know (a rotation) fetches them again, but at most once per
    ``min_interval``: a flood of tokens with made-up ``kid``s costs the IdP one request."""

    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        min_interval: float = 30,
        max_age: float = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._min_interval, self._max_age, self._clock = fetch, min_interval, max_age, clock
        self._jwks: dict[str, Any] | None = None
        self._keys = KeySet([])
        self._fetched_at = 0.0  # of the last attempt, successful or not
        self._lock = threading.Lock()
        self.fetches = 0

    def jwks(self, refresh: bool = False) -> dict[str, Any]:
        """The key set; ``refresh``: a token named a key we lack, fetch again if allowed."""
        with self._lock:
            since = self._clock() - self._fetched_at
            due = self._jwks is None or since >= self._max_age or refresh
            if due and (self._jwks is None or since >= self._min_interval):
                self._fetched_at = self._clock()
                self.fetches += 1
                try:
                    fetched = self._fetch()
                    # a broken answer does not replace good keys
                    self._keys = KeySet.import_key_set(cast(KeySetSerialization, fetched))
                    self._jwks = fetched
                except Exception as exc:
                    if self._jwks is None:
                        raise KeysUnavailable(str(exc)) from exc
            if self._jwks is None:
                raise KeysUnavailable("no keys yet (next attempt after the minimum interval)")
            return self._jwks

    def key_set(self, refresh: bool = False) -> KeySet:
        self.jwks(refresh)
        return self._keys

    def decode(self, raw: str) -> jwt.Token:
        """Verify the signature with the cached keys; an unknown ``kid`` refreshes them once."""
        try:
            return jwt.decode(raw, self.key_set(), algorithms=ALGORITHMS)
        except InvalidKeyIdError:
            return jwt.decode(raw, self.key_set(refresh=True), algorithms=ALGORITHMS)


class LogoutTokenError(ValueError):
    """The logout token is not one we may act on (the answer is a 400, the reason logged)."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_CLAIM_LENGTH else None


def check_logout_token(
    raw: str, keys: JwksCache, *, issuer: str, client_id: str, skew: int, max_age: int, now: float | None = None
) -> dict[str, Any]:
    """The claims of a valid logout token (§2.6), or :class:`LogoutTokenError`. The ``jti``
    replay check is the caller's (it needs the shared store)."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise LogoutTokenError("no logout token, or too long")
    try:
        claims: dict[str, Any] = dict(keys.decode(raw).claims)  # 1-3: signature by the IdP's key
    except (JoseError, ValueError) as exc:
        raise LogoutTokenError(f"bad signature or format: {exc}") from exc
    now = time.time() if now is None else now
    aud = claims.get("aud")
    if claims.get("iss") != issuer:  # 4: iss, aud, iat as for an ID token
        raise LogoutTokenError("wrong issuer")
    if client_id not in (aud if isinstance(aud, list) else [aud]):
        raise LogoutTokenError("not for this client")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise LogoutTokenError("no iat")
    if iat > now + skew:
        raise LogoutTokenError("issued in the future")
    if iat < now - max_age:
        raise LogoutTokenError("issued too long ago")
    # exp is REQUIRED (§2.4 as corrected by errata set 1); our IdP always sends it.
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise LogoutTokenError("no exp")
    if exp <= now - skew:
        raise LogoutTokenError("expired")
    sid, sub = claims.get("sid"), claims.get("sub")
    if (sid is None and sub is None) or (sid is not None and not _text(sid)) or (sub is not None and not _text(sub)):
        raise LogoutTokenError("needs a sid or a sub")  # 5
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise LogoutTokenError("not a back-channel logout event")  # 6: not an ID token either
    if "nonce" in claims:
        raise LogoutTokenError("a nonce: this is an ID token")  # 7
    if not _text(claims.get("jti")):
        raise LogoutTokenError("no jti")  # required (§2.4), checked for replay by the caller
    return claims
