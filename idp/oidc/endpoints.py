"""Revocation (RFC 7009), introspection (RFC 7662) and userinfo (OIDC Core §5.3), on
authlib's endpoint classes; the bearer-token validator they share."""

from __future__ import annotations

from typing import Any
from typing import ClassVar

from authlib.integrations.flask_oauth2 import current_token
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select

from idp import clock
from idp import sessions
from idp.directory.models import Account
from idp.extensions import db
from idp.oidc import claims
from idp.oidc.grants import CLIENT_AUTH_METHODS
from idp.oidc.grants import revoke_family
from idp.oidc.models import OAuth2Client
from idp.oidc.models import OAuth2Token
from idp.security.tokens import token_hash
from idp.settings import Settings


def find_token(token_string: str, hint: str | None) -> OAuth2Token | None:
    digest = token_hash(token_string)
    return db.session.scalar(
        select(OAuth2Token).where(
            or_(OAuth2Token.access_token_hash == digest, OAuth2Token.refresh_token_hash == digest)
        )
    )


def _active_account(account_id: int) -> Account | None:
    account = db.session.get(Account, account_id)
    return account if account is not None and account.is_active else None


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuth2Token | None:
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token: OAuth2Token, request: Any) -> None:
        # Revoking either token ends the grant: its access and refresh tokens alike.
        revoke_family(token.family)
        db.session.commit()


class Introspection(IntrospectionEndpoint):
    # A public client's bare client_id proves nothing: introspection needs a real secret.
    # A list, not a tuple: authlib quotes it in its error description. A class-level setting
    # that types-authlib declares as an instance attribute.
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [  # type: ignore[misc]
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuth2Token | None:
        return find_token(token_string, token_type_hint)

    def check_permission(self, token: OAuth2Token, client: OAuth2Client, request: Any) -> bool:
        # A client sees its own tokens; first-party clients (our resource servers) see all.
        return client.first_party or token.client_id == client.client_id

    def introspect_token(self, token: OAuth2Token) -> dict[str, Any]:
        if token.revoked_at is not None:
            return {"active": False}
        now = clock.now()
        # A refresh token counts while the grant could be refreshed: not rotated, the family's
        # end not reached, its session live (unless offline). Reads only: nothing is ended here.
        refresh = (
            token.refresh_token_hash is not None
            and token.rotated_at is None
            and token.refresh_expires_at is not None
            and token.refresh_expires_at > now
            and (token.offline or sessions.live(token.sso_session) is not None)
        )
        expired = token.expires_at <= now
        if expired and not refresh:
            return {"active": False}
        account = _active_account(token.account_id)
        if account is None:
            return {"active": False}
        return {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "token_type": "Bearer",
            "sub": account.public_id,
            "username": account.login,
            "iss": current_app.config["IDP_SETTINGS"].server.issuer,
            "iat": int(token.issued_at.timestamp()),
            "exp": int(token.expires_at.timestamp()),
            **({"company_account": token.company_account} if token.company_account else {}),
        }


class Bearer(BearerTokenValidator):
    """Access tokens by their hash; a token of a disabled or removed account is no token."""

    def authenticate_token(self, token_string: str) -> OAuth2Token | None:
        token = db.session.scalar(select(OAuth2Token).where(OAuth2Token.access_token_hash == token_hash(token_string)))
        return token if token is not None and _active_account(token.account_id) is not None else None


class UserInfo(UserInfoEndpoint):
    def get_issuer(self) -> str:
        settings: Settings = current_app.config["IDP_SETTINGS"]
        return settings.server.issuer

    def generate_user_info(self, user: Account, scope: str) -> dict[str, Any]:  # type: ignore[override]
        token: OAuth2Token = current_token._get_current_object()
        return {**claims.userinfo(user, scope), **claims.company_claims(user, token.company_account)}
