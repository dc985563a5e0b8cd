"""argon2id hashing through argon2-cffi, in a bounded pool of its own.

Why a pool: argon2 releases the GIL and holds a core for tens of milliseconds. Running it
on a few dedicated threads, with a bounded queue in front, lets a burst of logins use the
cores it is allowed while every request that needs no hash (pages, health checks, later
token calls) keeps answering. A full queue answers "busy" at once instead of piling up.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from typing import TypeVarTuple

import argon2
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

from idp.errors import Busy
from idp.settings import PasswordSettings

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class HasherBusy(Busy):
    """Too many password operations are already waiting; the caller should retry soon."""


def normalize(password: str) -> str:
    """NFKC-normalize, so a password typed on another keyboard or OS still matches."""
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    def __init__(self, settings: PasswordSettings) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost_kib,
            parallelism=settings.parallelism,
            type=argon2.Type.ID,
        )
        self._workers = settings.hash_workers
        self._admission = threading.BoundedSemaphore(settings.hash_workers + settings.hash_queue_limit)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # Verified against for unknown logins and accounts without a password, so that
        # they cost the same time as a real wrong password.
        self._dummy_hash = self._argon2.hash("dummy password, never matches anything")

    @property
    def parameters(self) -> argon2.Parameters:
        return argon2.extract_parameters(self._dummy_hash)

    def _run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        if not self._admission.acquire(blocking=False):
            raise HasherBusy("password hashing queue is full")
        try:
            if self._pool is None:
                # Created lazily so that each forked server worker gets its own threads.
                with self._pool_lock:
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="argon2")
            return self._pool.submit(fn, *args).result()
        finally:
            self._admission.release()

    def hash(self, password: str) -> str:
        return self._run(self._argon2.hash, normalize(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check ``password``; with no stored hash, spend the same time and say no."""
        return self._run(self._verify, stored_hash, normalize(password))

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash is None:
            self._verify_dummy(password)
            return False
        try:
            return self._argon2.verify(stored_hash, password)
        except VerificationError:
            return False
        except InvalidHashError:
            self._verify_dummy(password)
            return False

    def _verify_dummy(self, password: str) -> None:
        try:
            self._argon2.verify(self._dummy_hash, password)
        except VerificationError:
            pass

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._argon2.check_needs_rehash(stored_hash)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
