"""The provider driven by authlib's Flask client (the library our own relying
applications use), end to end against ``idp serve``: discovery, code + PKCE, ID token
validation, userinfo, refresh and revocation, each checked by the library itself."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask
from flask import jsonify
from flask import session

from idp.extensions import db
from idp.oidc import clients as registry
from tests import factories

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the test hands the redirect over


def relying_party(issuer: str, secret: str) -> Flask:
    rp = Flask("authlib-rp")
    rp.secret_key = "rp-" + "k" * 32
    oauth = OAuth(rp)
    oauth.register("idp", client_id="authlib-rp", client_secret=secret,
                   server_metadata_url=issuer + "/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid profile email contracts", "code_challenge_method": "S256"})

    @rp.get("/login")
    def login():  # type: ignore[no-untyped-def]
        return oauth.idp.authorize_redirect(REDIRECT)

    @rp.get("/callback")
    def callback():  # type: ignore[no-untyped-def]
        token = oauth.idp.authorize_access_token()  # state, PKCE, ID token (signature, iss, aud, nonce)
        claims = token["userinfo"]
        info = oauth.idp.userinfo(token=token)
        metadata = oauth.idp.load_server_metadata()
        client = oauth.idp._get_oauth_client(**metadata)
        refreshed = client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
        introspect = metadata["introspection_endpoint"]
        active_before = client.introspect_token(introspect, token=refreshed["access_token"]).json()["active"]
        revoked = client.revoke_token(metadata["revocation_endpoint"], token=refreshed["refresh_token"])
        active_after = client.introspect_token(introspect, token=refreshed["access_token"]).json()["active"]
        try:
            client.refresh_token(metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])
            refresh_after = None
        except OAuthError as error:
            refresh_after = error.error
        session.clear()
        result: dict[str, Any] = {
            "sub": claims["sub"], "iss": claims["iss"], "nonce": bool(claims.get("nonce")),
            "userinfo_sub": info["sub"], "username": info["preferred_username"],
            "rotated": refreshed["refresh_token"] != token["refresh_token"], "revoke_status": revoked.status_code,
            "active_before": active_before, "active_after": active_after, "refresh_after": refresh_after,
        }
        return jsonify(result)

    return rp


def test_authlib_client_drives_the_whole_flow(app: Flask, live_server: str) -> None:
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        paul = factories.contract_with_referent()
        secret = registry.create(client_id="authlib-rp", name="authlib RP", redirect_uris=[REDIRECT],
                                 first_party=True).secret or ""
        db.session.commit()
    browser = requests.Session()
    page = browser.get(f"{live_server}/login", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token
    browser.post(f"{live_server}/login", data={"csrf_token": token.group(1), "login": paul.login,
                                               "password": paul.password}, allow_redirects=False, timeout=10)

    rp = relying_party(live_server, secret).test_client()
    start = rp.get("/login")
    assert start.status_code == 302 and start.headers["Location"].startswith(live_server + "/authorize?")
    redirected = browser.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert redirected.headers["Location"].startswith(REDIRECT)
    result = rp.get("/callback?" + urlsplit(redirected.headers["Location"]).query)
    assert result.status_code == 200, result.text[:500]
    r = result.json
    assert r["iss"] == live_server and r["nonce"] and r["sub"] == r["userinfo_sub"] and r["username"] == "paul.dupont"
    assert r["rotated"] is True and r["revoke_status"] == 200
    assert r["active_before"] is True and r["active_after"] is False and r["refresh_after"] == "invalid_grant"
