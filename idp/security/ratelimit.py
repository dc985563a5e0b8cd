"""Request limits on the shared counter: per client address and per typed target.

``allow("forgot-password", limit, window, address=…)`` counts one request against a key
and says whether it is within the limit. Targets people type (logins, emails) become keys
only as keyed hashes of their canonical form, so counters never store what was typed.
"""

from __future__ import annotations

from idp.database import commit_counters
from idp.security.counters import Window
from idp.security.counters import counter
from idp.security.keyed_hash import Purpose
from idp.security.keyed_hash import mac


def target_key(purpose: str, canonical_value: str) -> str:
    """The key of a typed target, already canonicalised by the caller (``security.canonical``)."""
    return f"{purpose}:t:{mac(Purpose.COUNTER_KEY, canonical_value, length=32)}"


def address_key(purpose: str, address: str | None) -> str:
    return f"{purpose}:a:{address or 'unknown'}"


def hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one request on ``key``; False once the window is full (nothing counted then)."""
    taken = counter().take(key, Window(limit, window_seconds))
    commit_counters()  # counted now, whatever the request does next
    return taken is not None
