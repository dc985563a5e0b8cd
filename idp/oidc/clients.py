"""Client registration: exact redirect URIs, secrets shown once and stored hashed.

Why SHA-256 and not argon2 for client secrets: we generate them (256 random bits), so no
dictionary or brute force can reach them, and a memory-hard hash would put ~100 ms of CPU
on every token request. Comparison is constant-time. Human passwords keep argon2id.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import cast
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import KeySetSerialization
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp.errors import Conflict
from idp.errors import NotFound
from idp.errors import ValidationError
from idp.extensions import db
from idp.oidc.models import OAuth2Client
from idp.oidc.models import OAuth2Token
from idp.security import outbound
from idp.security.tokens import new_token
from idp.security.tokens import token_hash

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")


@dataclass(frozen=True)
class Registration:
    client: OAuth2Client
    secret: str | None  # shown once, never stored


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def check_uri(uri: str, what: str) -> str:
    """Absolute, https (http only on loopback, RFC 8252), no fragment, no wildcard."""
    parts = urlsplit(uri)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValidationError(f"{what} must be an absolute http(s) URI: {uri!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValidationError(f"{what} must use https unless on loopback: {uri!r}")
    if parts.fragment or "#" in uri:
        raise ValidationError(f"{what} must not have a fragment: {uri!r}")
    if "*" in uri:
        raise ValidationError(f"{what} must not contain wildcards: {uri!r}")
    if len(uri) > 500:
        raise ValidationError(f"{what} is too long")
    return uri


def check_backchannel_uri(uri: str, *, first_party: bool) -> str:
    """A back-channel logout URI we will POST to from inside our network: no credentials in
    it, and, for a client not registered as first-party, no literal internal address
    (loopback, private, link-local, ...) outside ``oidc.backchannel_allowed_networks``. A DNS
    name is checked on the addresses it resolves to, at each delivery (security.outbound)."""
    try:
        parts = outbound.check_url(uri)
    except outbound.Refused as exc:
        raise ValidationError(f"back-channel logout URI: {exc}: {_shown(uri)!r}") from None
    check_uri(uri, "back-channel logout URI")
    address = outbound.literal_address(parts.hostname)
    if address is not None:
        allowed = outbound.parse_networks(current_app.config["IDP_SETTINGS"].oidc.backchannel_allowed_networks)
        if not outbound.Policy(allowed=allowed, trusted=first_party).permits(address):
            raise ValidationError(
                f"back-channel logout URI is on an internal address ({address}): only a first-party client "
                "may use one, or list its network in oidc.backchannel_allowed_networks"
            )
    return uri


def _shown(uri: str) -> str:
    """The URI without whatever credentials it carries, for an error message."""
    parts = urlsplit(uri)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def create(
    *,
    client_id: str,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    backchannel_logout_uri: str | None = None,
    auth_method: str = "client_secret_basic",
    public: bool = False,
    first_party: bool = False,
    console_login: bool = False,
    jwks_file: str | None = None,
    id_token_alg: str | None = None,
    management_api: bool = False,
) -> Registration:
    if not client_id or len(client_id) > 64 or not all(c.isalnum() or c in "-_." for c in client_id):
        raise ValidationError("client id must be 1 to 64 characters among letters, digits, - _ .")
    if not name.strip():
        raise ValidationError("client name is required")
    if public:
        auth_method = "none"
    if auth_method not in AUTH_METHODS:
        raise ValidationError(f"auth method must be one of: {', '.join(AUTH_METHODS)}")
    if not redirect_uris:
        raise ValidationError("at least one --redirect-uri is required")
    uris = [check_uri(u, "redirect URI") for u in redirect_uris]
    logout_uris = [check_uri(u, "post-logout redirect URI") for u in post_logout_redirect_uris or []]
    backchannel = (
        check_backchannel_uri(backchannel_logout_uri, first_party=first_party) if backchannel_logout_uri else None
    )
    jwks = None
    if auth_method == "private_key_jwt":
        if not jwks_file:
            raise ValidationError("private_key_jwt needs --jwks FILE (the client's public keys)")
        try:
            jwks = json.loads(Path(jwks_file).read_text())
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read the JWKS file: {exc}") from None
        jwks = _public_jwks(jwks)
    if management_api and not first_party:
        raise ValidationError("only a first-party client may call the management API")
    if id_token_alg not in {None, "RS256", "ES256"}:
        raise ValidationError("ID token algorithm must be RS256 or ES256")
    if db.session.scalar(select(OAuth2Client.id).where(OAuth2Client.client_id == client_id)):
        raise Conflict(f"client {client_id} already exists")
    secret = new_token() if auth_method in {"client_secret_basic", "client_secret_post"} else None
    client = OAuth2Client(
        client_id=client_id,
        name=name.strip(),
        secret_hash=token_hash(secret) if secret else None,
        token_endpoint_auth_method=auth_method,
        redirect_uris=uris,
        post_logout_redirect_uris=logout_uris,
        backchannel_logout_uri=backchannel,
        jwks=jwks,
        first_party=first_party,
        console_login=console_login,
        id_token_signed_response_alg=id_token_alg,
        management_api=management_api,
    )
    db.session.add(client)
    db.session.flush()
    return Registration(client, secret)


def _public_jwks(data: object) -> dict[str, Any]:
    """The client's public keys, checked: RSA or EC, and never a private key."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise ValidationError('the JWKS file must hold {"keys": [...]}')
    try:
        keys = KeySet.import_key_set(cast(KeySetSerialization, data))  # its shape checked just above
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValidationError(f"the JWKS file holds an unusable key: {exc}") from None
    for key in keys:
        if key.key_type not in {"RSA", "EC"}:
            raise ValidationError("private_key_jwt keys must be RSA or EC")
        if key.is_private:
            raise ValidationError("the JWKS file holds a private key: register only the public keys")
    return {"keys": keys.as_dict(private=False)["keys"]}


def find(client_id: str) -> OAuth2Client | None:
    return db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id))


def authenticate_service(headers: Any) -> OAuth2Client | None:
    """A first-party client authenticated with HTTP Basic: one of the cloud's own services."""
    client_id, secret = extract_basic_authorization(headers)
    client = find(client_id) if client_id else None
    if client is None or not client.first_party or not client.check_client_secret(secret or ""):
        return None
    return client


def delete(client_id: str) -> None:
    """Remove a client; the tokens it holds die with it."""
    client = find(client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    db.session.execute(
        update(OAuth2Token)
        .where(OAuth2Token.client_id == client_id, OAuth2Token.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    db.session.delete(client)


def all_clients() -> list[OAuth2Client]:
    return list(db.session.scalars(select(OAuth2Client).order_by(OAuth2Client.client_id)))
