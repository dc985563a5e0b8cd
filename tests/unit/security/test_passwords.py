"""argon2id wiring: parameters, dummy verification, rehash detection, the bounded pool."""

from __future__ import annotations

import threading
import unicodedata

import argon2
import pytest

from idp.security.passwords import HasherBusy
from idp.security.passwords import PasswordHasher
from idp.settings import PasswordSettings

CHEAP = PasswordSettings(time_cost=1, memory_cost_kib=1024, parallelism=1, hash_workers=1)


def test_hash_is_argon2id_with_configured_parameters() -> None:
    hasher = PasswordHasher(CHEAP)
    stored = hasher.hash("Strong#Pass-1")
    assert stored.startswith("$argon2id$")
    params = argon2.extract_parameters(stored)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (1, 1024, 1)
    assert hasher.verify(stored, "Strong#Pass-1")
    assert not hasher.verify(stored, "Strong#Pass-2")
    assert not hasher.verify(stored, "strong#pass-1")


def test_no_truncation() -> None:
    hasher = PasswordHasher(CHEAP)
    long = "Aa1#" + "z" * 96
    stored = hasher.hash(long)
    assert hasher.verify(stored, long)
    assert not hasher.verify(stored, long[:72])
    assert not hasher.verify(stored, long[:-1] + "y")


def test_unicode_forms_verify_alike() -> None:
    hasher = PasswordHasher(CHEAP)
    nfc = unicodedata.normalize("NFC", "Ünïcødé#1A")
    stored = hasher.hash(nfc)
    assert hasher.verify(stored, unicodedata.normalize("NFD", nfc))


def test_unknown_account_still_runs_one_argon2_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same time for unknown login and wrong password: both pay one real verification."""
    hasher = PasswordHasher(CHEAP)
    calls: list[str] = []
    real = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    assert hasher.verify(None, "whatever#1A") is False
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")
    stored = hasher.hash("Strong#Pass-1")
    calls.clear()
    assert hasher.verify(stored, "wrong#Pass-1") is False
    assert len(calls) == 1
    calls.clear()
    assert hasher.verify("not-a-hash", "whatever#1A") is False
    assert len(calls) == 2  # the garbage hash fails fast, then the dummy verify runs


def test_needs_rehash_when_parameters_change() -> None:
    old = PasswordHasher(CHEAP)
    stored = old.hash("Strong#Pass-1")
    assert not old.needs_rehash(stored)
    stronger = PasswordHasher(PasswordSettings(time_cost=2, memory_cost_kib=2048, parallelism=1))
    assert stronger.needs_rehash(stored)
    assert stronger.verify(stored, "Strong#Pass-1")  # old hashes still verify


def test_full_queue_answers_busy_at_once() -> None:
    hasher = PasswordHasher(PasswordSettings(time_cost=1, memory_cost_kib=1024, hash_workers=1, hash_queue_limit=0))
    gate = threading.Event()
    started = threading.Event()

    def slow() -> None:
        started.set()
        gate.wait(5)

    worker = threading.Thread(target=lambda: hasher._run(slow))
    worker.start()
    assert started.wait(5)
    with pytest.raises(HasherBusy):
        hasher.verify(None, "x")
    gate.set()
    worker.join(5)
    assert hasher.verify(None, "x") is False  # capacity is back
