"""Client registry from the command line, and the JWKS endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from idp.cli import cli
from idp.extensions import db
from idp.oidc import clients as registry
from idp.oidc.models import OAuth2Client
from tests.helpers import exchange
from tests.helpers import signed_in_code

CREATE = ["clients", "create", "--client-id", "portal", "--name", "Customer Area",
          "--redirect-uri", "http://127.0.0.1:5001/callback",
          "--post-logout-redirect-uri", "http://127.0.0.1:5001/",
          "--backchannel-logout-uri", "http://127.0.0.1:5001/backchannel-logout", "--first-party"]


@pytest.fixture
def idp(runner: CliRunner, config_file: Path):  # type: ignore[no-untyped-def]
    return lambda *args: runner.invoke(cli, ["--config", str(config_file), *args])


def test_create_prints_the_secret_once_and_stores_a_hash(idp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    result = idp(*CREATE, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    secret = data["client_secret"]
    assert len(secret) >= 43 and data["token_endpoint_auth_method"] == "client_secret_basic"
    with app.app_context():
        client = db.session.scalar(select(OAuth2Client))
        assert client.secret_hash != secret and secret not in json.dumps(client.redirect_uris)
        assert client.check_client_secret(secret) and not client.check_client_secret(secret + "x")
        assert client.first_party and client.backchannel_logout_uri.endswith("/backchannel-logout")
    listed = idp("clients", "list", "--json")
    assert secret not in listed.output and json.loads(listed.output)[0]["client_id"] == "portal"


def test_public_client_has_no_secret(idp) -> None:  # type: ignore[no-untyped-def]
    result = idp("clients", "create", "--client-id", "spa", "--name", "SPA", "--redirect-uri",
                 "https://app.example.com/cb", "--public", "--json")
    assert json.loads(result.output) == {"client_id": "spa", "client_secret": None, "token_endpoint_auth_method": "none"}


BAD = [
    (["--redirect-uri", "http://evil.example/cb"], "https unless on loopback"),
    (["--redirect-uri", "https://app.example.com/cb#frag"], "fragment"),
    (["--redirect-uri", "https://*.example.com/cb"], "wildcards"),
    (["--redirect-uri", "/relative"], "absolute"),
    (["--redirect-uri", "https://app.example.com/cb", "--auth-method", "private_key_jwt"], "--jwks FILE"),
]


@pytest.mark.parametrize(("extra", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_registrations_exit_2_and_change_nothing(idp, app: Flask, extra: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = idp("clients", "create", "--client-id", "bad", "--name", "Bad", *extra)
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OAuth2Client)) == 0


def test_duplicate_and_unknown_clients(idp) -> None:  # type: ignore[no-untyped-def]
    assert idp(*CREATE).exit_code == 0
    assert idp(*CREATE).exit_code == 2
    assert idp("clients", "delete", "portal").exit_code == 0
    assert idp("clients", "delete", "portal").exit_code == 2


def test_private_key_jwt_client_keeps_its_public_keys(idp, tmp_path: Path, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from joserfc.jwk import ECKey

    jwks = {"keys": [ECKey.generate_key("P-256", parameters={"kid": "c1"}).as_dict(private=False)]}
    path = tmp_path / "client-jwks.json"
    path.write_text(json.dumps(jwks))
    result = idp("clients", "create", "--client-id", "console", "--name", "Console", "--redirect-uri",
                 "https://console.example.com/cb", "--auth-method", "private_key_jwt", "--jwks", str(path), "--json")
    assert json.loads(result.output)["client_secret"] is None
    with app.app_context():
        assert db.session.scalar(select(OAuth2Client.jwks)) == jwks


def test_init_creates_keys_and_jwks_serves_them(idp, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(idp("init", "--json").output)["signing_keys_created"]
    assert len(created) == 2
    assert json.loads(idp("init", "--json").output)["signing_keys_created"] == []
    response = client.get("/jwks")
    assert response.status_code == 200 and response.headers["Cache-Control"].startswith("public")
    assert {k["kid"] for k in response.json["keys"]} == set(created)
    rotated = json.loads(idp("keys", "rotate", "--alg", "ES256", "--json").output)
    assert rotated["kid"] in {k["kid"] for k in client.get("/jwks").json["keys"]}
    states = {k["kid"]: k["state"] for k in json.loads(idp("keys", "list", "--json").output)}
    assert states[rotated["kid"]] == "published"


def test_deleting_a_client_revokes_its_tokens(client, auth, paul, rp, app) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    tokens = exchange(client, code, verifier, rp["portal"]).json
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    with app.app_context():
        registry.delete("portal")
        db.session.commit()
    assert client.get("/userinfo", headers=bearer).status_code == 401
