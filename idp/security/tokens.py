"""Opaque bearer tokens: 256 random bits for the holder, only their SHA-256 at rest.

Every presented secret (session cookie, reset link, client secret, security token) is
compared through :func:`matches`, in constant time: the one token matcher.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(stored_hash: str | None, presented: str | None) -> bool:
    """Whether ``presented`` hashes to ``stored_hash``, in time independent of where they differ."""
    if not stored_hash or not presented:
        return False
    return hmac.compare_digest(stored_hash, token_hash(presented))
