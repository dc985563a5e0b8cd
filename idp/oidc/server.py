"""The authorization server, assembled from authlib's parts and ours.

Beyond authlib's defaults (security-checklist §15): PKCE is required for every client and
S256 only; a request without redirect_uri is refused; codes are single use and a replayed
code revokes every token issued from it; refresh tokens rotate and a reused one revokes
its whole family; the issuer is added to authorization responses (RFC 9207).
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask
from flask import current_app

from idp.oidc.client_assertion import PrivateKeyJWT
from idp.oidc.endpoints import Bearer
from idp.oidc.endpoints import Introspection
from idp.oidc.endpoints import Revocation
from idp.oidc.endpoints import UserInfo
from idp.oidc.grants import CodeGrant
from idp.oidc.grants import OpenIDExtension
from idp.oidc.grants import RefreshGrant
from idp.oidc.grants import S256Challenge
from idp.oidc.grants import query_client
from idp.oidc.grants import save_token
from idp.settings import Settings


class Issuer(IssuerParameter):
    def get_issuer(self) -> str:
        settings: Settings = current_app.config["IDP_SETTINGS"]
        return settings.server.issuer


def init_oidc(app: Flask) -> AuthorizationServer:
    settings = app.config["IDP_SETTINGS"]
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": settings.oidc.access_token_lifetime_seconds,
        "refresh_token": settings.oidc.access_token_lifetime_seconds,
    }
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True  # opaque and random, like access tokens
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    server.register_grant(CodeGrant, [S256Challenge(required=True), OpenIDExtension(require_nonce=False)])
    server.register_grant(RefreshGrant)
    server.register_extension(Issuer())
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    protector = ResourceProtector()
    protector.register_token_validator(Bearer())
    # authlib takes any endpoint with an ENDPOINT_NAME; its types want an Endpoint subclass,
    # which its own UserInfoEndpoint is not.
    server.register_endpoint(UserInfo(resource_protector=protector))  # type: ignore[arg-type]
    app.extensions["idp.oauth2"] = server
    return server
