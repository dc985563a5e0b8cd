"""The provider driven by a second, independent relying-party library: panva's
``openid-client`` on Node.js (installed by ``make test`` from tests/interop/package-lock.json).

The Node script does discovery, builds the authorization request (PKCE S256, state, nonce),
and after the callback validates everything itself: iss in the response (RFC 9207), the ID
token's signature against our JWKS and its claims, userinfo's sub; then refresh,
introspection and revocation. Python plays the browser: a signed-in session that follows
the authorization URL to the redirect.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.oidc import clients as registry
from tests import factories

HERE = Path(__file__).parent
SCRIPT = HERE / "openid_client_rp.mjs"
REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the test reads the redirect


def _node() -> str:
    node = shutil.which("node")
    assert node, "Node.js is required (the machine's node, see README)"
    assert (HERE / "node_modules" / "openid-client").is_dir(), "run `make test` (npm ci in tests/interop)"
    return node


def _browser_session(base: str, login: str, password: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token
    signed_in = browser.post(f"{base}/login", data={"csrf_token": token.group(1), "login": login, "password": password},
                             allow_redirects=False, timeout=10)
    assert signed_in.status_code == 302
    return browser


@pytest.mark.parametrize("method", ["client_secret_basic", "private_key_jwt"])
def test_openid_client_drives_the_whole_flow(app: Flask, live_server: str, tmp_path: Path, method: str) -> None:
    env = {**os.environ, "ISSUER": live_server, "CLIENT_ID": "node-rp", "REDIRECT_URI": REDIRECT, "AUTH_METHOD": method}
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        paul = factories.contract_with_referent()
        if method == "private_key_jwt":
            key = ECKey.generate_key("P-256", parameters={"kid": "node-1", "alg": "ES256"}, private=True)
            jwks = tmp_path / "jwks.json"
            jwks.write_text(json.dumps(KeySet([key]).as_dict(private=False)))
            env["CLIENT_PRIVATE_JWK"] = json.dumps(key.as_dict(private=True))
            registry.create(client_id="node-rp", name="Node RP", redirect_uris=[REDIRECT], first_party=True,
                            auth_method="private_key_jwt", jwks_file=str(jwks))
        else:
            env["CLIENT_SECRET"] = registry.create(client_id="node-rp", name="Node RP", redirect_uris=[REDIRECT],
                                                   first_party=True).secret or ""
        db.session.commit()
    browser = _browser_session(live_server, paul.login, paul.password)

    proc = subprocess.Popen([_node(), str(SCRIPT)], cwd=HERE, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = json.loads(proc.stdout.readline() or '{"ok": false}')
        assert "authorize" in first, (first, proc.stderr.read() if proc.poll() is not None else "")
        redirected = browser.get(first["authorize"], allow_redirects=False, timeout=10)
        assert redirected.status_code == 302 and redirected.headers["Location"].startswith(REDIRECT)
        assert parse_qs(urlsplit(redirected.headers["Location"]).query)["iss"] == [live_server]
        proc.stdin.write(redirected.headers["Location"] + "\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline() or '{"ok": false}')
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert result["ok"], result
    claims = result["claims"]
    assert result["issuer"] == live_server
    assert claims["iss"] == live_server and claims["sub"] and claims["aud"] in ("node-rp", ["node-rp"])
    assert result["userinfo"]["sub"] == claims["sub"] and result["userinfo"]["preferred_username"] == "paul.dupont"
    assert result["userinfo"]["contracts"][0]["id"] == "OCB0000124"
    assert result["refreshed"] is True
    assert result["activeBefore"] is True and result["activeAfter"] is False  # revocation ended the grant
    assert result["refreshAfterRevocation"] == "invalid_grant"
    assert result["userinfoAfterRevocation"]  # the access token died with its refresh token
