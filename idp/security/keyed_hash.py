"""Keyed hashes, one key per purpose, all derived from the application secret.

Why derive: one secret used directly for four unrelated HMACs (audit subjects, counter
keys, emailed codes, …) ties them together — a value computed for one purpose is valid
for another. HKDF-SHA256 (RFC 5869, from ``cryptography``) turns the secret into an
independent key per purpose label; the labels are listed here so that no two uses share one.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class Purpose(StrEnum):
    AUDIT_SUBJECT = "audit-subject"
    COUNTER_KEY = "counter-key"
    VERIFICATION_CODE = "verification-code"


_cache: dict[tuple[str, Purpose], bytes] = {}
_lock = threading.Lock()


def derive(secret: str, purpose: Purpose) -> bytes:
    """The 256-bit key of ``purpose`` under ``secret`` (computed once per process)."""
    with _lock:
        key = _cache.get((secret, purpose))
        if key is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"idp keyed hash", info=purpose.value.encode())
            key = _cache[(secret, purpose)] = hkdf.derive(secret.encode())
        return key


def mac(purpose: Purpose, value: str, *, length: int = 64) -> str:
    """HMAC-SHA256 of ``value`` under the purpose's key, hex, truncated to ``length``."""
    key = derive(current_app.config["SECRET_KEY"], purpose)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]
