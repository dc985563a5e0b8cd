"""What both relying applications share: their OIDC client (authlib), sign-in and sign-out,
and back-channel logout (a verified logout token ends the local sessions of its ``sid``)."""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import requests
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
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass(frozen=True)
class RpConfig:
    client_id: str
    client_secret: str
    issuer: str
    base_url: str
    scope: str
    secret_key: str

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
            secret_key=env.get(f"{prefix}_SECRET_KEY") or secrets.token_urlsafe(32),
        )


class EndedSessions:
    """``sid``s the IdP said are over; checked on every request (one process per app)."""

    def __init__(self) -> None:
        self._sids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, sid: str) -> None:
        with self._lock:
            self._sids.add(sid)

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return sid in self._sids


def init_rp(app: Flask, config: RpConfig) -> None:
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME=f"{config.client_id}_session",
    )
    oauth = OAuth(app)
    oauth.register(
        "idp",
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": config.scope, "code_challenge_method": "S256"},
    )
    app.extensions["rp.config"] = config
    app.extensions["rp.ended"] = EndedSessions()
    app.register_blueprint(bp)


def client() -> FlaskOAuth2App:
    registered: FlaskOAuth2App = current_app.extensions["authlib.integrations.flask_client"].idp
    return registered


def signed_in() -> dict[str, Any] | None:
    """The signed-in person, unless the IdP ended their session meanwhile."""
    user = session.get("user")
    if user and user.get("sid") in current_app.extensions["rp.ended"]:
        session.clear()
        return None
    return user


def start_login(**extra: str) -> ResponseReturnValue:
    config: RpConfig = current_app.extensions["rp.config"]
    return client().authorize_redirect(config.base_url.rstrip("/") + url_for("rp.callback"), **extra)


bp = Blueprint("rp", __name__)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    token = client().authorize_access_token()
    claims = token["userinfo"]  # the verified ID token
    info = client().userinfo(token=token)
    language = session.get("lang")
    session.clear()  # a fresh session for the signed-in person (no fixation), keeping the language
    if language:
        session["lang"] = language
    session["user"] = {**dict(info), "sid": claims.get("sid"), "id_token": token["id_token"]}
    return redirect(url_for("home"))


@bp.get("/logout")
def logout() -> ResponseReturnValue:
    config: RpConfig = current_app.extensions["rp.config"]
    user = session.pop("user", None)
    session.clear()
    metadata = client().load_server_metadata()
    params = {"post_logout_redirect_uri": config.base_url.rstrip("/") + "/", "client_id": config.client_id}
    if user:
        params["id_token_hint"] = user["id_token"]
    return redirect(metadata["end_session_endpoint"] + "?" + requests.compat.urlencode(params))


@bp.post("/backchannel-logout")
def backchannel_logout() -> ResponseReturnValue:
    """Verify the logout token (OpenID Back-Channel Logout §2.6), then end its sid here."""
    config: RpConfig = current_app.extensions["rp.config"]
    raw = request.form.get("logout_token", "")
    try:
        keys = KeySet.import_key_set(requests.get(client().load_server_metadata()["jwks_uri"], timeout=5).json())
        token = jwt.decode(raw, keys, algorithms=["RS256", "ES256"])
    except (JoseError, ValueError, requests.RequestException):
        return {"error": "invalid_request"}, 400
    c = token.claims
    aud = c.get("aud")
    if (
        c.get("iss") != config.issuer
        or config.client_id not in (aud if isinstance(aud, list) else [aud])
        or BACKCHANNEL_EVENT not in (c.get("events") or {})
        or "nonce" in c
        or not c.get("sid")
    ):
        return {"error": "invalid_request"}, 400
    current_app.extensions["rp.ended"].add(c["sid"])
    return "", 200
