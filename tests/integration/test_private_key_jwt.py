"""private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9)."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from idp import clock
from idp.errors import ValidationError
from idp.extensions import db
from idp.oidc import clients as registry
from tests.conftest import AuthActions
from tests.factories import Person
from tests.helpers import CB
from tests.helpers import ISSUER
from tests.helpers import signed_in_code

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def client_key(app: Flask, tmp_path: Path, rp) -> ECKey:  # type: ignore[no-untyped-def]
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeySet([key]).as_dict(private=False)))
    with app.app_context():
        registry.create(client_id="pkjwt", name="Key client", redirect_uris=[CB], first_party=True,
                        auth_method="private_key_jwt", jwks_file=str(jwks))
        db.session.commit()
    return key


def assertion(key: ECKey | RSAKey | OctKey, alg: str = "ES256", **claims: object) -> str:
    now = int(clock.now().timestamp())
    payload = {"iss": "pkjwt", "sub": "pkjwt", "aud": ISSUER + "/token", "jti": secrets.token_hex(8),
               "iat": now, "exp": now + 60, **claims}
    return jwt.encode({"alg": alg, "kid": "k1"}, payload, key)


def token_request(client: FlaskClient, code: str, verifier: str, signed: str):  # type: ignore[no-untyped-def]
    return client.post("/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB,
                                       "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
                                       "client_assertion": signed})


def test_a_signed_assertion_authenticates_the_client(client: FlaskClient, auth: AuthActions, paul: Person,
                                                     client_key: ECKey) -> None:
    code, verifier = signed_in_code(client, auth, paul, client_id="pkjwt")
    response = token_request(client, code, verifier, assertion(client_key))
    assert response.status_code == 200, response.json
    assert "private_key_jwt" in client.get("/.well-known/openid-configuration").json["token_endpoint_auth_methods_supported"]
    # The same key authenticates introspection too.
    introspect = client.post("/introspect", data={"token": response.json["access_token"],
                                                  "client_assertion_type": ASSERTION_TYPE,
                                                  "client_assertion": assertion(client_key, aud=ISSUER)})
    assert introspect.status_code == 200 and introspect.json["active"] is True


def test_a_replayed_assertion_is_refused(client: FlaskClient, auth: AuthActions, paul: Person, client_key: ECKey) -> None:
    signed = assertion(client_key)
    code, verifier = signed_in_code(client, auth, paul, client_id="pkjwt")
    assert token_request(client, code, verifier, signed).status_code == 200
    code, verifier = signed_in_code(client, auth, paul, client_id="pkjwt")
    replay = token_request(client, code, verifier, signed)
    assert replay.status_code in {400, 401} and replay.json["error"] == "invalid_client"


@pytest.mark.parametrize("case", ["other-key", "wrong-aud", "expired", "long-lived", "iss-differs", "hs256", "no-jti"])
def test_bad_assertions_are_refused(client: FlaskClient, auth: AuthActions, paul: Person, client_key: ECKey,
                                    case: str) -> None:
    now = int(time.time())
    signed = {
        "other-key": lambda: assertion(ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)),
        "wrong-aud": lambda: assertion(client_key, aud="https://elsewhere.example/token"),
        "expired": lambda: assertion(client_key, iat=now - 600, exp=now - 300),
        "long-lived": lambda: assertion(client_key, exp=now + 86400),
        "iss-differs": lambda: assertion(client_key, iss="portal"),
        "hs256": lambda: assertion(OctKey.import_key(secrets.token_bytes(32)), alg="HS256"),
        "no-jti": lambda: assertion(client_key, jti=None),
    }[case]()
    code, verifier = signed_in_code(client, auth, paul, client_id="pkjwt")
    response = token_request(client, code, verifier, signed)
    assert response.status_code in {400, 401} and response.json["error"] == "invalid_client"
    assert token_request(client, code, verifier, assertion(client_key)).status_code == 200  # the code was not spent


def test_a_private_key_jwt_client_cannot_use_a_secret(client: FlaskClient, auth: AuthActions, paul: Person, rp,  # type: ignore[no-untyped-def]
                                                      client_key: ECKey) -> None:
    code, verifier = signed_in_code(client, auth, paul, client_id="pkjwt")
    response = client.post("/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB,
                                           "code_verifier": verifier, "client_id": "pkjwt", "client_secret": rp["portal"]})
    assert response.status_code in {400, 401} and response.json["error"] == "invalid_client"


def test_registration_refuses_private_keys_and_symmetric_keys(app: Flask, tmp_path: Path) -> None:
    for key, message in [(RSAKey.generate_key(2048, private=True), "private key"),
                         (OctKey.import_key(secrets.token_bytes(32)), "RSA or EC")]:
        path = tmp_path / "k.json"
        path.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
        with app.app_context(), pytest.raises(ValidationError, match=message):
            registry.create(client_id="bad", name="Bad", redirect_uris=[CB], auth_method="private_key_jwt",
                            jwks_file=str(path))


def test_an_assertion_for_a_client_without_keys_is_invalid_client(client: FlaskClient, auth: AuthActions,
                                                                  paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    """An assertion naming a secret-based client (no registered keys): 401 invalid_client, not a 500."""
    code, verifier = signed_in_code(client, auth, paul)
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
    response = token_request(client, code, verifier, assertion(key, iss="portal", sub="portal"))
    assert response.status_code in {400, 401} and response.json["error"] == "invalid_client"
