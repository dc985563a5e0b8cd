"""authlib's grants, closed where RFC 9700 asks more (``server`` assembles them).

Beyond authlib's defaults (security-checklist §15): PKCE is required for every client and
S256 only; a request without redirect_uri is refused; codes are single use and a replayed
code revokes every token issued from it; refresh tokens rotate and a reused one revokes
its whole family; the issuer is added to authorization responses (RFC 9207).

A code is exchanged only while its SSO session is live; a refresh only while the family's
session is (unless the family is offline) and before the family's fixed end
(``lifetimes``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import ClassVar
from typing import cast

from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Payload
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from flask import current_app
from flask import g
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp import sessions
from idp.directory.models import Account
from idp.extensions import db
from idp.extensions import rowcount
from idp.oidc import claims
from idp.oidc import lifetimes
from idp.oidc.keys import KeyStore
from idp.oidc.keys import SigningKey
from idp.oidc.models import AuthorizationCode
from idp.oidc.models import OAuth2Client
from idp.oidc.models import OAuth2Token
from idp.security.tokens import token_hash
from idp.settings import Settings

CODE_LIFETIME = timedelta(seconds=60)


def _settings() -> Settings:
    settings: Settings = current_app.config["IDP_SETTINGS"]
    return settings


# authlib fills an OAuth2Request in as it goes, so its types leave these attributes optional;
# by the time it calls the hooks below they are set, to objects of ours.


def _payload(request: OAuth2Request) -> OAuth2Payload:
    """The request's parameters (parsed when authlib built the request)."""
    assert request.payload is not None
    return request.payload


def _client(request: OAuth2Request) -> OAuth2Client:
    """The authenticated client: one of ours, from :func:`query_client`."""
    return cast(OAuth2Client, request.client)


def _account(request: OAuth2Request) -> Account:
    """The account the grant is for: the signed-in person, or ``authenticate_user``'s answer."""
    return cast(Account, request.user)


def revoke_family(family: str) -> None:
    db.session.execute(
        update(OAuth2Token)
        .where(OAuth2Token.family == family, OAuth2Token.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


class S256Challenge(CodeChallenge):
    """PKCE with S256 only, required of every client (RFC 9700 §2.1.1)."""

    # A class-level setting that types-authlib declares as an instance attribute.
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]  # type: ignore[misc]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: grants.AuthorizationCodeGrant, redirect_uri: str | None) -> None:
        data = _payload(grant.request).data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE (S256) is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: grants.AuthorizationCodeGrant, result: AuthorizationCode) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        return super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str | None:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str | None:
        return authorization_code.code_challenge_method


# Every token-endpoint client authentication we accept; each client is registered for one.
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        session = sessions.current()
        assert session is not None  # the view only gets here with a live session
        payload = _payload(request)
        data = payload.data
        now = clock.now()
        db.session.add(
            AuthorizationCode(
                code_hash=token_hash(code),
                client_id=_client(request).client_id,
                account_id=_account(request).id,
                sso_session=session.id_hash,
                redirect_uri=payload.redirect_uri,
                scope=payload.scope or "",
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=session.auth_time,
                company_account=data.get("company_account") or None,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
        db.session.commit()

    def query_authorization_code(  # type: ignore[override]  # authlib passes our client, not its mixin
        self, code: str, client: OAuth2Client
    ) -> AuthorizationCode | None:
        code_hash = token_hash(code)
        row = db.session.get(AuthorizationCode, code_hash)
        if row is None or row.client_id != client.client_id:
            return None
        now = clock.now()
        # Consume at once, atomically: a second exchange finds it used, whatever happens next.
        consumed = rowcount(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
        )
        if not consumed:
            # Replay: whoever holds this code may have stolen it; revoke what it produced.
            for family in db.session.scalars(select(OAuth2Token.family).where(OAuth2Token.code_hash == code_hash)):
                revoke_family(family)
            db.session.commit()
            return None
        if row.expires_at <= now:
            db.session.commit()
            return None
        # Not committed yet: the row stays locked until save_token commits the consumption
        # with the tokens, in one transaction; a concurrent exchange waits, then finds it used.
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        pass  # already marked used when it was read; kept for replay detection

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        # A session that ended since the code was issued (a logout within its minute) has
        # had its tokens revoked already: none may be issued in it now.
        if sessions.live(authorization_code.sso_session) is None:
            return None
        account = db.session.get(Account, authorization_code.account_id)
        return account if account is not None and account.is_active else None


class OpenIDExtension(OpenIDCode):
    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        key = (nonce, _payload(request).client_id)
        seen: dict[tuple[str, str], bool] = g.setdefault("oauth2_nonces", {})
        if key not in seen:
            seen[key] = self._nonce_used(nonce, request)
        return seen[key]

    def _nonce_used(self, nonce: str, request: OAuth2Request) -> bool:
        return bool(
            db.session.scalar(
                select(AuthorizationCode.code_hash).where(
                    AuthorizationCode.nonce == nonce, AuthorizationCode.client_id == _payload(request).client_id
                )
            )
        )

    def _key(self, client: OAuth2Client) -> SigningKey:
        store: KeyStore = current_app.extensions["idp.keys"]
        return store.signing_key(self.get_client_algorithm(client))

    def get_client_algorithm(self, client: OAuth2Client) -> str:
        return client.id_token_signed_response_alg or _settings().oidc.default_signing_alg

    def get_encode_header(self, client: OAuth2Client) -> dict[str, Any]:
        return {"alg": self.get_client_algorithm(client), "kid": self._key(client).kid, "typ": "JWT"}

    def resolve_client_private_key(self, client: OAuth2Client) -> RSAKey | ECKey:
        return self._key(client).jwk

    def get_client_claims(self, client: OAuth2Client) -> dict[str, Any]:
        now = int(clock.now().timestamp())
        return {
            "iss": _settings().server.issuer,
            "aud": [client.client_id],
            "iat": now,
            "exp": now + _settings().oidc.id_token_lifetime_seconds,
        }

    def get_authorization_code_claims(  # type: ignore[override]  # our model, not authlib's mixin
        self, authorization_code: AuthorizationCode
    ) -> dict[str, Any]:
        result = super().get_authorization_code_claims(authorization_code)  # type: ignore[arg-type]  # ditto
        if authorization_code.sso_session:
            result["sid"] = authorization_code.sso_session[:32]
        account = db.session.get(Account, authorization_code.account_id)
        if account is not None:
            result.update(claims.company_claims(account, authorization_code.company_account))
        return result

    # A plain dict, not authlib's UserInfo: authlib only merges it into the ID token's claims.
    def generate_user_info(self, user: Account, scope: str) -> dict[str, Any]:  # type: ignore[override]
        return claims.userinfo(user, scope)


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(  # type: ignore[override]  # our model or None, not authlib's mixin
        self, refresh_token: str
    ) -> OAuth2Token | None:
        token = db.session.scalar(
            select(OAuth2Token).where(OAuth2Token.refresh_token_hash == token_hash(refresh_token))
        )
        if token is None:
            return None
        if token.rotated_at is not None:
            # Reuse of a rotated refresh token: one of the two holders is a thief.
            revoke_family(token.family)
            db.session.commit()
            return None
        if token.revoked_at is not None or (token.refresh_expires_at and token.refresh_expires_at <= clock.now()):
            return None
        if not token.offline and not sessions.keep_alive(token.sso_session):
            return None  # its SSO session ended (or has just been ended, now that it expired)
        return token

    def authenticate_user(self, refresh_token: OAuth2Token) -> Account | None:
        account = db.session.get(Account, refresh_token.account_id)
        return account if account is not None and account.is_active else None

    def revoke_old_credential(self, refresh_token: OAuth2Token) -> None:  # type: ignore[override]  # our model
        # Called after save_token: the successor and this mark commit together, and a
        # concurrent use of the same token finds it rotated.
        rotated = rowcount(
            update(OAuth2Token)
            .where(OAuth2Token.id == refresh_token.id, OAuth2Token.rotated_at.is_(None))
            .values(rotated_at=clock.now())
        )
        if not rotated:
            # Used twice at the same time: one of the two holders is a thief.
            revoke_family(refresh_token.family)
            db.session.commit()
            raise InvalidGrantError("The refresh token was already used.")
        db.session.commit()


def _family(code: AuthorizationCode | None, previous: OAuth2Token | None, now: datetime) -> dict[str, Any]:
    """What a new token inherits: from the refresh token it replaces (unchanged, so that a
    family never slides), or, for a code's first grant, a new family (``lifetimes``)."""
    if previous is not None:
        keys = ("family", "code_hash", "sso_session", "company_account", "family_started_at", "offline")
        return {key: getattr(previous, key) for key in keys} | {"refresh_expires_at": previous.refresh_expires_at}
    assert code is not None
    offline = lifetimes.asks_offline(code.scope)
    session = sessions.live(code.sso_session)
    return {
        "family": secrets.token_hex(16),
        "code_hash": code.code_hash,
        "sso_session": code.sso_session,
        "company_account": code.company_account,
        "family_started_at": now,
        "offline": offline,
        "refresh_expires_at": lifetimes.family_end(now, offline=offline, session=session),
    }


def save_token(token: dict[str, Any], request: OAuth2Request) -> None:
    now = clock.now()
    code = getattr(request, "authorization_code", None)
    previous = getattr(request, "refresh_token", None)
    refresh = token.get("refresh_token")
    family = _family(code, previous, now)
    if not refresh:
        family["refresh_expires_at"] = None
    db.session.add(
        OAuth2Token(
            access_token_hash=token_hash(token["access_token"]),
            refresh_token_hash=token_hash(refresh) if refresh else None,
            client_id=_client(request).client_id,
            account_id=_account(request).id,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_at=now + timedelta(seconds=int(token["expires_in"])),
            **family,
        )
    )
    if previous is None:
        db.session.commit()  # with the code's consumption; a refresh commits in revoke_old_credential


def query_client(client_id: str) -> OAuth2Client | None:
    """The client, read once per request (authlib and our views ask several times)."""
    cache: dict[str, OAuth2Client | None] = g.setdefault("oauth2_clients", {})
    if client_id not in cache:
        cache[client_id] = db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id))
    return cache[client_id]
