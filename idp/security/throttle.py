"""Failed-password lockout, per credential and per client address, on the shared counter.

Every password check first *reserves* an attempt on two windows: the credential's (10
failures in 15 minutes lock it for 5) and the address's (50 in 15 minutes lock it for 15).
The reservation is the failure, counted before the ~100 ms hash: a burst of parallel
guesses gets at most the limit evaluated, and the rest are refused at once. A success
clears the credential's window and gives the address its slot back.

Why a lock cannot shut a victim out for good: it always ends, refused attempts are not
counted (they cannot extend it), and an identifier that matches nobody is throttled exactly
like a real one, so the lock reveals nothing either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from idp import clock
from idp.database import commit_counters
from idp.errors import IdpError
from idp.security import ratelimit
from idp.security.counters import Counter
from idp.security.counters import Window
from idp.settings import ThrottleSettings

LOCKED = _l("Too many failed attempts. Please try again in %(minutes)s minute(s).")


class Locked(IdpError):
    code, status = "too_many_attempts", 429

    def __init__(self, until: datetime) -> None:
        minutes = max(1, math.ceil((until - clock.now()).total_seconds() / 60))
        super().__init__(str(LOCKED) % {"minutes": minutes})
        self.until = until


@dataclass(frozen=True)
class Reservation:
    credential_key: str
    address_key: str
    # This attempt filled the credential's window: if it fails, it is the one that locks.
    locks: bool
    # This attempt filled the address's window: if it fails, the address is locked.
    locks_address: bool


class Throttle:
    def __init__(self, settings: ThrottleSettings, counter: Counter) -> None:
        self.counter = counter
        self.credential = Window(
            settings.account_max_failures, settings.account_window_seconds, settings.account_lockout_seconds
        )
        self.address = Window(
            settings.address_max_failures, settings.address_window_seconds, settings.address_lockout_seconds
        )

    def reserve(self, credential_key: str, address: str | None) -> Reservation:
        """Take one attempt on both windows, or raise :class:`Locked` (nothing taken)."""
        credential_key = f"pw:{credential_key}"
        address_key = ratelimit.address_key("pw", address)  # IPv6: its /64
        taken = self.counter.take(credential_key, self.credential)
        by_address = self.counter.take(address_key, self.address) if taken is not None else None
        if taken is not None and by_address is None:
            self.counter.give_back(credential_key)  # a refused attempt leaves nothing behind
        commit_counters()  # both slots taken, or none, before the slow hash: one commit
        if taken is None:
            raise Locked(self.counter.free_at(credential_key, self.credential) or clock.now())
        if by_address is None:
            raise Locked(self.counter.free_at(address_key, self.address) or clock.now())
        return Reservation(
            credential_key, address_key, taken >= self.credential.limit, by_address >= self.address.limit
        )

    def failed(self, reservation: Reservation) -> None:
        """The password was wrong: the reservation stays counted; a window it filled locks now,
        for its lockout time (a refused attempt never gets here, so it cannot extend a lock)."""
        if reservation.locks:
            self.counter.hold(reservation.credential_key, self.credential)
        if reservation.locks_address:
            self.counter.hold(reservation.address_key, self.address)

    def succeeded(self, reservation: Reservation) -> None:
        """The password was right: the credential starts afresh, the address gets its slot back."""
        self.counter.clear(reservation.credential_key)
        self.counter.give_back(reservation.address_key)

    def abandoned(self, reservation: Reservation) -> None:
        """Nothing was checked (e.g. the hashing pool was busy): give both slots back."""
        self.counter.give_back(reservation.credential_key)
        self.counter.give_back(reservation.address_key)

    def clear(self, credential_key: str) -> None:
        """Whoever proved they own the mailbox gets in at once, even if someone locked them out."""
        self.counter.clear(f"pw:{credential_key}")


def throttle() -> Throttle:
    app_throttle: Throttle = current_app.extensions["idp.throttle"]
    return app_throttle
