"""What both relying applications share, written as a model of how to trust the IdP: their
OIDC client (authlib), sessions kept server-side in a shared store (:mod:`sso_clients.store`),
sign-in, sign-out by POST with a CSRF token, and back-channel logout with the IdP's keys
cached (:mod:`sso_clients.tokens`) and every check of the specification."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.flask_client import OAuth
from flask import Blueprint
from flask import Flask
from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect

from sso_clients.store import Store
from sso_clients.store import StoredSession
from sso_clients.store import StoredSessionInterface
from sso_clients.store import default_url
from sso_clients.tokens import BACKCHANNEL_EVENT
from sso_clients.tokens import JwksCache
from sso_clients.tokens import KeysUnavailable
from sso_clients.tokens import LogoutTokenError
from sso_clients.tokens import check_logout_token

__all__ = ["BACKCHANNEL_EVENT", "RpConfig", "init_rp", "signed_in", "start_login"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RpConfig:
    client_id: str
    client_secret: str
    issuer: str
    base_url: str
    scope: str
    #: Signs CSRF tokens; empty: one made once and kept in the store (the same in every worker).
    secret_key: str = ""
    #: Where sessions, ended sids and used jtis live; empty: a SQLite file in the instance folder.
    store_url: str = ""
    #: Seconds a session lives from sign-in (absolute: using it does not extend it).
    session_lifetime: int = 8 * 3600
    #: Seconds a session nobody signed in to lives (a visitor's CSRF token, language, a
    #: sign-in under way): anyone can make one, so it must cost the store little.
    anonymous_session_lifetime: int = 600
    #: The IdP's keys are fetched again at most this often for an unknown ``kid`` (seconds) ...
    jwks_min_interval: int = 30
    #: ... and at least this often anyway, so that a withdrawn key stops being trusted.
    jwks_max_age: int = 3600
    #: Clock difference tolerated with the IdP (seconds).
    clock_skew: int = 60
    #: A logout token issued longer ago than this is refused (the IdP signs each delivery anew).
    logout_token_max_age: int = 300

    @classmethod
    def from_env(cls, prefix: str, client_id: str, base_url: str, scope: str) -> RpConfig:
        env = os.environ
        secret = env.get(f"{prefix}_CLIENT_SECRET", "")
        if not secret:
            raise SystemExit(f"{prefix}_CLIENT_SECRET is not set (make run writes it to instance/sso_clients.env)")
        return cls(
            client_id=env.get(f"{prefix}_CLIENT_ID", client_id),
            client_secret=secret,
            issuer=env.get("IDP_SERVER__ISSUER", "http://127.0.0.1:5000"),
            base_url=env.get(f"{prefix}_BASE_URL", base_url),
            scope=scope,
            secret_key=env.get(f"{prefix}_SECRET_KEY", ""),
            store_url=env.get(f"{prefix}_STORE_URL") or env.get("SSO_CLIENTS_STORE_URL", ""),
        )


class IdpClient(FlaskOAuth2App):
    """authlib's client, verifying ID tokens with the same key cache as logout tokens."""

    keys: JwksCache

    def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
        return self.keys.jwks(refresh=force)


class RpOAuth(OAuth):
    oauth2_client_cls = IdpClient


def init_rp(app: Flask, config: RpConfig) -> None:
    """Wire one relying app: its store, sessions, CSRF, OIDC client and the ``rp`` routes."""
    if not config.store_url:
        os.makedirs(app.instance_path, exist_ok=True)
    store = Store(config.store_url or default_url(app, config.client_id), config.client_id)
    https = config.base_url.startswith("https://")
    app.config.update(
        SECRET_KEY=config.secret_key or store.secret_key(),
        # __Host-: only this origin, over TLS, can set or read it.
        SESSION_COOKIE_NAME=("__Host-" if https else "") + f"{config.client_id}_session",
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.session_interface = StoredSessionInterface(store, config.session_lifetime, config.anonymous_session_lifetime)
    CSRFProtect(app).exempt(backchannel_logout)  # the IdP's server-to-server POST carries a signed token
    oauth = RpOAuth(app)
    idp: IdpClient = oauth.register(
        "idp",
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": config.scope, "code_challenge_method": "S256"},
    )

    def fetch_jwks() -> dict[str, Any]:
        answer = requests.get(idp.load_server_metadata()["jwks_uri"], timeout=(3, 5), allow_redirects=False)
        answer.raise_for_status()
        jwks: dict[str, Any] = answer.json()
        return jwks

    idp.keys = JwksCache(fetch_jwks, config.jwks_min_interval, config.jwks_max_age)
    app.extensions["rp.config"] = config
    app.extensions["rp.store"] = store
    app.register_blueprint(bp)


def client() -> IdpClient:
    registered: IdpClient = current_app.extensions["authlib.integrations.flask_client"].idp
    return registered


def signed_in() -> dict[str, Any] | None:
    """The signed-in person. A session the IdP ended is no longer in the store at all, so
    whatever the cookie, there is nobody."""
    user: dict[str, Any] | None = session.get("user")
    return user


def start_login(**extra: str) -> ResponseReturnValue:
    config: RpConfig = current_app.extensions["rp.config"]
    return client().authorize_redirect(config.base_url.rstrip("/") + url_for("rp.callback"), **extra)


bp = Blueprint("rp", __name__)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    """The IdP's answer: a code (exchanged, its ID token checked), or an error (the person
    declined, or the sign-in could not be done). An error, a ``state`` this browser did not
    start (a forged or replayed link, a sign-in begun before its session expired) or a
    refused exchange signs nobody in: back to the home page, never a 500."""
    try:
        token = client().authorize_access_token()
    except OAuthError as exc:
        log.info("sign-in not completed: %s", exc.error)
        return redirect(url_for("home"))
    claims = token["userinfo"]  # the verified ID token
    info = client().userinfo(token=token)
    store: Store = current_app.extensions["rp.store"]
    sid = claims.get("sid")
    if sid and store.is_ended(sid):  # its logout token arrived while we were signing in
        return redirect(url_for("home"))
    language = session.get("lang")
    session.clear()
    assert isinstance(session, StoredSession)
    session.renew = True  # a new key for the signed-in person (no fixation), keeping the language
    if language:
        session["lang"] = language
    session["user"] = {**dict(info), "sub": claims["sub"], "sid": sid, "id_token": token["id_token"]}
    return redirect(url_for("home"))


@bp.get("/logout")
def logout_page() -> ResponseReturnValue:
    """A GET never signs out (a link or an image on another site could): the sign-out
    button on the home page posts the form with its CSRF token."""
    return redirect(url_for("home"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session here (its row, so every copy of the cookie), then at the IdP."""
    config: RpConfig = current_app.extensions["rp.config"]
    user = session.get("user")
    session.clear()
    if user is None:
        return redirect(url_for("home"))
    metadata = client().load_server_metadata()
    params = {
        "post_logout_redirect_uri": config.base_url.rstrip("/") + "/",
        "client_id": config.client_id,
        "id_token_hint": user["id_token"],
    }
    return redirect(metadata["end_session_endpoint"] + "?" + requests.compat.urlencode(params))


@bp.post("/backchannel-logout")
def backchannel_logout() -> ResponseReturnValue:
    """Check the logout token (Back-Channel Logout 1.0 §2.6), refuse a replayed ``jti``,
    then end every session of its ``sid`` (or ``sub``) in the shared store."""
    config: RpConfig = current_app.extensions["rp.config"]
    store: Store = current_app.extensions["rp.store"]
    headers = {"Cache-Control": "no-store"}
    try:
        claims = check_logout_token(
            request.form.get("logout_token", ""),
            client().keys,
            issuer=config.issuer,
            client_id=config.client_id,
            skew=config.clock_skew,
            max_age=config.logout_token_max_age,
        )
    except (LogoutTokenError, KeysUnavailable) as exc:
        log.warning("logout token refused: %s", exc)
        return {"error": "invalid_request", "error_description": "invalid logout token"}, 400, headers
    # The jti is kept as long as the token could be accepted, then iat's bound refuses it.
    if not store.first_use(claims["jti"], int(claims["iat"]) + config.logout_token_max_age + config.clock_skew):
        log.warning("logout token refused: jti replayed")
        return {"error": "invalid_request", "error_description": "logout token already used"}, 400, headers
    ended = store.end(
        sid=claims.get("sid"), sub=claims.get("sub"), keep_until=int(time.time()) + config.session_lifetime
    )
    log.info("back-channel logout: %d session(s) ended", ended)
    return "", 200, headers
