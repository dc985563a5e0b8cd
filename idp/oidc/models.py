"""Registered relying parties (OAuth 2.0 clients)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import false
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.directory.models import Account
from idp.extensions import Model
from idp.extensions import db
from idp.security import tokens

# Scopes this provider knows (OIDC Core §5.4, plus `contracts`: SPEC §4, and `management`:
# the management API, granted only to a client registered for it, see ``management_api``).
SCOPES = ("openid", "profile", "email", "phone", "offline_access", "contracts", "management")
MANAGEMENT_SCOPE = "management"


class OAuth2Client(Model):
    __tablename__ = "oauth2_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of a 256-bit random secret (see clients.py for why not argon2); None if public.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    # Public JWKS of a private_key_jwt client.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # The technical console: its web login asks for the company account first (SPEC §3).
    console_login: Mapped[bool] = mapped_column(Boolean, default=False)
    # The audience of the management API (``idp.management.auth``): only such a client (a
    # first-party one: the portal) gets the ``management`` scope, and the API re-checks the
    # flag on every call, so clearing it ends what its tokens may do there.
    management_api: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # RS256 or ES256 for this client's ID tokens; None: the provider's default.
    id_token_signed_response_alg: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"  # noqa: S105 - an auth method's name, not a secret

    @property
    def client_metadata(self) -> dict[str, Any]:
        """authlib reads optional registration metadata here (e.g. signed userinfo): none."""
        return {}

    # authlib's ClientMixin -------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # No default: a request without redirect_uri is refused (authlib would take the first).
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = [s for s in (scope or "").split() if s in SCOPES]
        return " ".join(s for s in allowed if s != MANAGEMENT_SCOPE or (self.management_api and self.first_party))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact string match, never a prefix

    def check_client_secret(self, client_secret: str) -> bool:
        return tokens.matches(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in {"authorization_code", "refresh_token"}


class AuthorizationCode(Model):
    """One authorization code: stored hashed, single use (``used_at``), 60 seconds."""

    __tablename__ = "oauth2_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sso_session: Mapped[str | None] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(255), index=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime())
    # A console login for one contract (authorization parameter company_account=OCB…).
    company_account: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # authlib's AuthorizationCodeMixin
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


class OAuth2Token(Model):
    """Access and refresh tokens, stored as hashes; a refresh rotation keeps the family.

    A family's refresh tokens die at ``refresh_expires_at``, fixed at its first grant and
    carried across rotations (``oidc.lifetimes``); a family that is not ``offline`` also dies
    with the SSO session it was issued in (``sso_session``).
    """

    __tablename__ = "oauth2_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Every token descending from one authorization code shares the family.
    family: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    sso_session: Mapped[str | None] = mapped_column(String(64), index=True)
    company_account: Mapped[str | None] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The family's end (indexed, with revoked_at, for the purge of dead families).
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # When the family's first token was issued (its authorization code was exchanged).
    family_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # offline_access was requested and consented: the family outlives its session.
    offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when the refresh token was exchanged: a second use is a reuse → the family dies.
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    # authlib's TokenMixin
    def check_client(self, client: OAuth2Client) -> bool:
        return self.client_id == client.client_id

    def get_client(self) -> OAuth2Client | None:
        return db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == self.client_id))

    def get_user(self) -> Account | None:
        return db.session.get(Account, self.account_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return clock.now() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Consent(Model):
    """Scopes a person granted to a client that is not first-party."""

    __tablename__ = "oauth2_consents"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class ClientAssertion(Model):
    """``jti`` of private_key_jwt assertions seen, until they expire: each is single use."""

    __tablename__ = "oauth2_client_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
