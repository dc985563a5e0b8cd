"""Signing-key lifecycle: published before use, retired keys verify until their tokens expire."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.errors import JoseError

from idp import clock
from idp.oidc.keys import KeyStore
from idp.settings import OidcSettings

SETTINGS = OidcSettings(key_publish_seconds=3600, id_token_lifetime_seconds=600, access_token_lifetime_seconds=300)


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    s = KeyStore(tmp_path / "signing", SETTINGS)
    s.ensure()
    return s


def _sign(store: KeyStore, alg: str = "RS256") -> str:
    key = store.signing_key(alg)
    return jwt.encode({"alg": alg, "kid": key.kid}, {"sub": "x"}, key.jwk)


def test_first_keys_sign_at_once_for_both_algorithms(store: KeyStore) -> None:
    for alg in ("RS256", "ES256"):
        token = _sign(store, alg)
        assert jwt.decode(token, store.verification_keys(), algorithms=[alg]).claims == {"sub": "x"}
    assert store.ensure() == []  # idempotent


def test_jwks_is_public_only_with_kids(store: KeyStore) -> None:
    keys = store.jwks()["keys"]
    assert {k["kty"] for k in keys} == {"RSA", "EC"}
    assert all(k["kid"] and k["use"] == "sig" for k in keys)
    assert not any(private in k for k in keys for private in ("d", "p", "q", "dp", "dq", "qi"))


def test_key_files_are_private(store: KeyStore) -> None:
    for path in store.directory.glob("*.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotation_publishes_before_use_and_keeps_old_tokens_valid(store: KeyStore) -> None:
    old = store.signing_key("RS256")
    old_token = _sign(store)
    new = store.rotate("RS256")
    published = {k["kid"] for k in store.jwks()["keys"]}
    assert new.kid in published and old.kid in published  # announced before it signs
    assert store.signing_key("RS256").kid == old.kid
    with clock.shifted(timedelta(seconds=3601)):
        assert store.signing_key("RS256").kid == new.kid  # now the new one signs
        # a token signed by the old key before the rotation still verifies
        assert jwt.decode(old_token, store.verification_keys(), algorithms=["RS256"]).claims["sub"] == "x"
    with clock.shifted(timedelta(seconds=3600 + 601)):
        assert old.kid not in {k["kid"] for k in store.jwks()["keys"]}  # its tokens have all expired
        with pytest.raises(JoseError):
            jwt.decode(old_token, store.verification_keys(), algorithms=["RS256"])
        assert store.prune() == [old.kid]
        assert not (store.directory / f"{old.kid}.json").exists()


def test_another_process_sees_a_rotation(store: KeyStore, tmp_path: Path) -> None:
    other = KeyStore(store.directory, SETTINGS)
    before = {k.kid for k in other.keys()}
    new = store.rotate("ES256")
    assert {k.kid for k in other.keys()} == before | {new.kid}


def test_no_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="idp init"):
        KeyStore(tmp_path / "empty", SETTINGS).signing_key("RS256")
