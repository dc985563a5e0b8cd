"""Who is calling: an OAuth access token issued to the portal for the person signed in to it.

The audience of the management API is a client registered for it (``management_api``, a
first-party client: the portal; ``idp clients create --management-api``). A token is taken
only if all of these hold, checked on every call:

- it is a live access token of ours (the ``/userinfo`` validator, ``oidc.endpoints.Bearer``:
  found by its hash, its account active), neither revoked nor expired;
- its client is still registered and still flagged for the management API (the audience);
- it carries the ``management`` scope (only such a client can be granted it);
- the SSO session it was issued in is live: the API acts for a person signed in now, so a
  session that ended (logout, expiry, a password change) ends the token's use here too,
  offline grants included.

Failures are 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3), except a missing scope:
403 ``insufficient_scope``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask import request
from flask_babel import lazy_gettext as _l

from idp import sessions
from idp.directory.models import Account
from idp.management.errors import ApiError
from idp.oidc.endpoints import Bearer
from idp.oidc.models import MANAGEMENT_SCOPE
from idp.oidc.models import OAuth2Token

REALM = "management"
MAX_TOKEN_LENGTH = 512
NO_TOKEN = _l("Sign in: this API needs an access token (Authorization: Bearer).")
BAD_TOKEN = _l("Sign in again: this access token is missing, expired or revoked.")
NO_SCOPE = _l("This access token was not issued for the management API.")


@dataclass(frozen=True)
class Caller:
    account: Account
    token: OAuth2Token


def _challenge(error: str | None = None) -> dict[str, str]:
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
        if error == "insufficient_scope":
            value += f', scope="{MANAGEMENT_SCOPE}"'
    return {"WWW-Authenticate": value}


def _invalid() -> ApiError:
    return ApiError(401, "invalid_token", BAD_TOKEN, headers=_challenge("invalid_token"))


def _token_string() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise ApiError(401, "unauthorized", NO_TOKEN, headers=_challenge())
    if scheme.lower() != "bearer" or not value.strip() or len(value) > MAX_TOKEN_LENGTH:
        raise _invalid()
    return value.strip()


def authenticate() -> Caller:
    """The caller of this request, or an :class:`ApiError` (401/403)."""
    token = Bearer().authenticate_token(_token_string())
    if token is None or token.is_revoked() or token.is_expired():
        raise _invalid()
    client = token.get_client()
    if client is None or not (client.management_api and client.first_party):
        raise _invalid()  # not our audience
    if sessions.live(token.sso_session) is None:
        raise _invalid()
    if MANAGEMENT_SCOPE not in (token.scope or "").split():
        raise ApiError(403, "insufficient_scope", NO_SCOPE, headers=_challenge("insufficient_scope"))
    account = token.get_user()
    if account is None:
        raise _invalid()
    g.management_language = account.language  # messages in the caller's language from now on
    return Caller(account, token)
