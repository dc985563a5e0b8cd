"""Signing keys in ``keys/signing/``: RS256 and ES256, each with a ``kid``, rotated safely.

A key's life, on a shared clock (all times UTC, in the key file):

    created ──publish delay──► active (signs) ──next key active──► retired (verifies only)
        └────────── published in the JWKS from creation ──────────┘──► until every token
                                                                        it signed expired
                                                                        ──► pruned

Publishing before signing lets relying parties that cache the JWKS know the key before they
meet a token it signed; keeping retired keys until their tokens expire keeps those tokens
valid. The files are private JWKs (mode 0600), re-read when the folder changes, so every
process serving from the same ``keys/`` agrees.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from joserfc.jwk import ECKey
from joserfc.jwk import KeyParameters
from joserfc.jwk import KeySet
from joserfc.jwk import KeySetSerialization
from joserfc.jwk import RSAKey

from idp import clock
from idp.settings import OidcSettings

ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    created_at: datetime
    active_from: datetime
    retired_at: datetime | None
    jwk: RSAKey | ECKey

    def state(self, now: datetime, keep: timedelta) -> str:
        if now < self.active_from:
            return "published"
        if self.retired_at is None or now < self.retired_at:
            return "active"
        return "retired" if now < self.retired_at + keep else "expired"


def _generate(alg: str, kid: str) -> RSAKey | ECKey:
    parameters: KeyParameters = {"kid": kid, "use": "sig", "alg": alg}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters, private=True)
    return ECKey.generate_key("P-256", parameters=parameters, private=True)


class KeyStore:
    def __init__(self, directory: Path, settings: OidcSettings) -> None:
        self.directory = directory
        self.settings = settings
        # Verification must outlive the longest token a key signed.
        self.keep = timedelta(seconds=max(settings.id_token_lifetime_seconds, settings.access_token_lifetime_seconds))
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._keys: list[SigningKey] = []

    # --- reading -----------------------------------------------------------------------

    def keys(self) -> list[SigningKey]:
        """All key files, re-read only when the folder changed."""
        try:
            stamp = self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        with self._lock:
            if stamp != self._stamp:
                self._keys = sorted((self._read(p) for p in self.directory.glob("*.json")), key=lambda k: k.created_at)
                self._stamp = stamp
            return list(self._keys)

    @staticmethod
    def _read(path: Path) -> SigningKey:
        data = json.loads(path.read_text())
        jwk_data = data["jwk"]
        jwk = RSAKey.import_key(jwk_data) if jwk_data["kty"] == "RSA" else ECKey.import_key(jwk_data)
        parse = datetime.fromisoformat
        return SigningKey(
            kid=jwk_data["kid"],
            alg=data["alg"],
            created_at=parse(data["created_at"]),
            active_from=parse(data["active_from"]),
            retired_at=parse(data["retired_at"]) if data.get("retired_at") else None,
            jwk=jwk,
        )

    def signing_key(self, alg: str) -> SigningKey:
        """The key that signs now for ``alg`` (the newest active one)."""
        now = clock.now()
        active = [k for k in self.keys() if k.alg == alg and k.state(now, self.keep) == "active"]
        if not active:
            raise LookupError(f"no active {alg} signing key: run `idp init` or `idp keys rotate --alg {alg}`")
        return active[-1]

    def published(self) -> list[SigningKey]:
        now = clock.now()
        return [k for k in self.keys() if k.state(now, self.keep) != "expired"]

    def jwks(self) -> KeySetSerialization:
        """The public JWKS: upcoming, active and retired-but-needed keys."""
        return KeySet([k.jwk for k in self.published()]).as_dict(private=False)

    def verification_keys(self) -> KeySet:
        return KeySet([k.jwk for k in self.published()])

    # --- changing ----------------------------------------------------------------------

    def _write(self, key: SigningKey) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        data = {
            "alg": key.alg,
            "created_at": key.created_at.isoformat(),
            "active_from": key.active_from.isoformat(),
            "retired_at": key.retired_at.isoformat() if key.retired_at else None,
            "jwk": key.jwk.as_dict(private=True),
        }
        path = self.directory / f"{key.kid}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
        self._stamp = None

    def _new(self, alg: str, active_from: datetime) -> SigningKey:
        now = clock.now()
        kid = f"{alg.lower()}-{now:%Y%m%d%H%M%S}-{os.urandom(3).hex()}"
        key = SigningKey(kid, alg, now, active_from, None, _generate(alg, kid))
        self._write(key)
        return key

    def ensure(self) -> list[SigningKey]:
        """Create a first, immediately active key for each algorithm that has none."""
        now = clock.now()
        created = []
        for alg in ALGORITHMS:
            if not any(k.alg == alg and k.state(now, self.keep) in {"active", "published"} for k in self.keys()):
                created.append(self._new(alg, now))
        return created

    def rotate(self, alg: str) -> SigningKey:
        """Publish a new key now; it signs after the publish delay, when the current one retires."""
        if alg not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        now = clock.now()
        start = now + timedelta(seconds=self.settings.key_publish_seconds)
        for key in self.keys():
            if key.alg == alg and key.state(now, self.keep) in {"active", "published"} and key.retired_at is None:
                self._write(SigningKey(key.kid, key.alg, key.created_at, key.active_from, start, key.jwk))
        return self._new(alg, start)

    def prune(self) -> list[str]:
        """Delete the files of keys no token can need any more."""
        now = clock.now()
        gone = [k.kid for k in self.keys() if k.state(now, self.keep) == "expired"]
        for kid in gone:
            (self.directory / f"{kid}.json").unlink(missing_ok=True)
        self._stamp = None
        return gone
