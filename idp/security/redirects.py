"""Where a form may send the browser afterwards: our own paths only."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/") -> str:
    """Accept a local absolute path; refuse anything that could leave this origin."""
    if not target or len(target) > 2048:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in target):
        return default
    return target
