"""The one clock: every expiry, lifetime and audit time is read from here.

Tests move it with :func:`frozen` instead of sleeping; production never touches the offset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

_offset = timedelta(0)


def now() -> datetime:
    """Return the current UTC time, timezone-aware."""
    return datetime.now(UTC) + _offset


@contextlib.contextmanager
def shifted(delta: timedelta) -> Iterator[None]:
    """Run a block as if ``delta`` had passed (tests only)."""
    global _offset
    previous = _offset
    _offset = previous + delta
    try:
        yield
    finally:
        _offset = previous
