"""Request limits on the shared counter: per client address and per typed target.

``allow("forgot-password", limit, window, address=…)`` counts one request against a key
and says whether it is within the limit. Targets people type (logins, emails) become keys
only as keyed hashes of their canonical form, so counters never store what was typed.
"""

from __future__ import annotations

import ipaddress

from idp.database import commit_counters
from idp.security.counters import Window
from idp.security.counters import counter
from idp.security.keyed_hash import Purpose
from idp.security.keyed_hash import mac


def target_key(purpose: str, canonical_value: str) -> str:
    """The key of a typed target, already canonicalised by the caller (``security.canonical``)."""
    return f"{purpose}:t:{mac(Purpose.COUNTER_KEY, canonical_value, length=32)}"


def address_group(address: str | None) -> str:
    """What a per-address limit counts: an IPv4 address, or an IPv6 address's whole /64.

    One IPv6 host usually holds a whole /64 (SLAAC, privacy addresses, a /64 per
    subscriber), so counting single IPv6 addresses would give it 2**64 fresh counters. An
    IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) counts as its IPv4 address.
    """
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]  # not an address (a test client, a socket path): itself
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def address_key(purpose: str, address: str | None) -> str:
    """The key of a per-address limit: every one of them groups IPv6 by /64 (``address_group``)."""
    return f"{purpose}:a:{address_group(address)}"


def hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one request on ``key``; False once the window is full (nothing counted then)."""
    taken = counter().take(key, Window(limit, window_seconds))
    commit_counters()  # counted now, whatever the request does next
    return taken is not None
