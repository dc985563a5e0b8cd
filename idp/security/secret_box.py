"""Encryption of access-key secrets at rest, with keys from ``keys/credentials/``.

An SK cannot be hashed: checking a signature needs it in clear. So it is encrypted with
Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``), like Keystone's credential
keys. Every ``*.key`` file in the folder can decrypt; the newest name encrypts, so a new
key file rotates encryption without making older secrets unreadable. The first process
to need a key creates it (``O_EXCL``: concurrent workers agree on one).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet


class SecretBox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._fernet: MultiFernet | None = None

    def _load(self) -> MultiFernet:
        with self._lock:
            if not any(self.directory.glob("*.key")):
                self._create("0001.key")
            stamp = self.directory.stat().st_mtime_ns
            if self._fernet is None or stamp != self._stamp:
                files = sorted(self.directory.glob("*.key"), reverse=True)  # newest first: it encrypts
                self._fernet = MultiFernet([Fernet(p.read_bytes().strip()) for p in files])
                self._stamp = stamp
            return self._fernet

    def _create(self, name: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        try:
            fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())

    def encrypt(self, text: str) -> str:
        return self._load().encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._load().decrypt(token.encode()).decode()
        except InvalidToken:
            raise LookupError("this secret cannot be decrypted with the keys in keys/credentials/") from None
