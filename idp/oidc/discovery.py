"""Discovery (OpenID Connect Discovery 1.0 §3) and the JWKS."""

from __future__ import annotations

from flask import current_app
from flask import jsonify
from flask import url_for
from flask.typing import ResponseReturnValue

from idp.oidc.blueprint import bp
from idp.oidc.client_assertion import ASSERTION_ALGS
from idp.oidc.grants import CLIENT_AUTH_METHODS
from idp.oidc.keys import ALGORITHMS
from idp.oidc.models import SCOPES


@bp.get("/.well-known/openid-configuration")
def discovery() -> ResponseReturnValue:
    settings = current_app.config["IDP_SETTINGS"]
    issuer = settings.server.issuer.rstrip("/")
    response = jsonify(
        {
            "issuer": settings.server.issuer,
            "authorization_endpoint": issuer + url_for("oidc.authorize"),
            "token_endpoint": issuer + url_for("oidc.token"),
            "userinfo_endpoint": issuer + url_for("oidc.userinfo"),
            "jwks_uri": issuer + url_for("oidc.jwks"),
            "revocation_endpoint": issuer + url_for("oidc.revoke"),
            "end_session_endpoint": issuer + url_for("oidc.end_session"),
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "introspection_endpoint": issuer + url_for("oidc.introspect"),
            "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
            "introspection_endpoint_auth_methods_supported": [m for m in CLIENT_AUTH_METHODS if m != "none"],
            "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
            "request_parameter_supported": False,
            "claims_parameter_supported": False,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "locale",
                "email",
                "email_verified",
                "phone_number",
                "contracts",
            ],
            "prompt_values_supported": ["none", "login"],
            "authorization_response_iss_parameter_supported": True,
        }
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/jwks")
def jwks() -> ResponseReturnValue:
    response = jsonify(current_app.extensions["idp.keys"].jwks())
    # Short cache: a rotation publishes the new key an hour (key_publish_seconds) ahead.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
