"""What an authorization request gets, decided from one source of parameters.

The request's parameters are read only from authlib's payload (query and body alike:
OpenID Connect Core §3.1.2.1 lets a client send the request by GET or by POST), so no
parameter can be checked in one place and used from another.

    invalid prompt / max_age / company_account … ► error to the client
    console client without company_account ──────► the company step (or, with an SSO
                                                    session and a remembered company, no form)
    no session ──────────────────────────────────► login (prompt=none: login_required)
    prompt=login, max_age passed, another person
      hinted, session older than auth_after ──────► login again (prompt=none: login_required)
    company_account the person is no console user of ► a clear page, nothing for the client
    offline_access asked ─────────────────────────► consent, every time, first-party or not
    first-party client, or scopes consented ──────► issue a code
    otherwise ────────────────────────────────────► consent (prompt=none: consent_required)

``offline_access`` (a grant that outlives the session, ``lifetimes``) is never given
silently: OIDC Core §11 says the OP "MUST always obtain consent" to it, and a first-party
client is trusted to read the person's identity, not to keep access after they sign out.
Its consent is not remembered: each request for it shows the consent page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from authlib.oauth2 import OAuth2Error
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from idp import clock
from idp.extensions import db
from idp.oidc import claims
from idp.oidc.lifetimes import OFFLINE_ACCESS
from idp.oidc.models import Consent
from idp.oidc.models import OAuth2Client
from idp.security.canonical import COMPANY_ACCOUNT_RE
from idp.sessions import SsoSession

# Longest value of each authorization parameter, in UTF-8 bytes, so that each fits where it
# goes (a column of oauth2_codes, the redirect back, the login form) whatever its
# characters; any other parameter: DEFAULT_MAX_LENGTH. Longer is ``invalid_request``,
# sent to the client once its redirect URI is known good (an error page before that),
# never a database error.
MAX_LENGTHS = {
    "client_id": 64,
    "redirect_uri": 500,
    "scope": 500,
    "nonce": 255,
    "state": 1024,
    "code_challenge": 128,
    "code_challenge_method": 10,
    "response_type": 64,
    "response_mode": 32,
    "prompt": 64,
    "display": 16,
    "login_hint": 254,
    "id_token_hint": 8192,
    "acr_values": 255,
    "ui_locales": 255,
    "claims_locales": 255,
    "company_account": 16,
}
DEFAULT_MAX_LENGTH = 2048


class Action(StrEnum):
    ERROR = "error"
    COMPANY_STEP = "company_step"
    LOGIN = "login"
    REAUTHENTICATE = "reauthenticate"
    NOT_CONSOLE_USER = "not_console_user"
    CONSENT = "consent"
    ISSUE = "issue"


@dataclass(frozen=True)
class Decision:
    action: Action
    error: str | None = None  # the OAuth error code sent back (Action.ERROR)


def _error(code: str) -> Decision:
    return Decision(Action.ERROR, code)


def hint_claims(hint: str | None) -> dict[str, object] | None:
    """Claims of an ID token we signed (an expired one is fine, per RP-Initiated Logout §2)."""
    if not hint or len(hint) > 8192:
        return None
    try:
        token = jwt.decode(hint, current_app.extensions["idp.keys"].verification_keys(), algorithms=["RS256", "ES256"])
    except JoseError:
        return None
    if token.claims.get("iss") != current_app.config["IDP_SETTINGS"].server.issuer:
        return None
    return dict(token.claims)


def hinted_subject(params: Mapping[str, str], client_id: str) -> str | None:
    """The ``sub`` of a valid ``id_token_hint`` issued to this client; raises on a bad hint."""
    hint = params.get("id_token_hint")
    if not hint:
        return None
    found = hint_claims(hint)
    audience = (found or {}).get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    sub = (found or {}).get("sub")
    if found is None or client_id not in audiences or not isinstance(sub, str):
        raise OAuth2Error(error="invalid_request", description="id_token_hint is not a valid ID token for this client")
    return sub


def _malformed(params: Mapping[str, str]) -> bool:
    prompt = set((params.get("prompt") or "").split())
    if "none" in prompt and len(prompt) > 1:
        return True  # OIDC Core §3.1.2.1
    for name in ("max_age", "auth_after"):
        value = params.get(name)
        if value is not None and (not value.isdigit() or len(value) > 12):
            return True
    company = params.get("company_account")
    if company and not COMPANY_ACCOUNT_RE.fullmatch(company):
        return True
    return too_long(params)


def too_long(params: Mapping[str, str | None]) -> bool:
    """Whether any parameter is longer than :data:`MAX_LENGTHS` allows."""
    return any(
        len((value or "").encode()) > MAX_LENGTHS.get(name, DEFAULT_MAX_LENGTH) for name, value in params.items()
    )


def _needs_login(session: SsoSession, params: Mapping[str, str], hinted: str | None) -> bool:
    """Whether this session does not satisfy the request: prompt, max_age, auth_after, hint."""
    if "login" in (params.get("prompt") or "").split():
        return True
    max_age, auth_after = params.get("max_age"), params.get("auth_after")
    if max_age is not None and (clock.now() - session.auth_time).total_seconds() > int(max_age):
        return True
    if auth_after is not None and session.auth_time.timestamp() < int(auth_after):
        return True
    return hinted is not None and hinted != session.account.public_id


def decide(
    params: Mapping[str, str],
    client: OAuth2Client,
    scopes: list[str],
    session: SsoSession | None,
    remembered_company: str | None,
) -> Decision:
    """What this (already client- and redirect-validated) authorization request gets."""
    if _malformed(params):
        return _error("invalid_request")
    silent = "none" in (params.get("prompt") or "").split()
    try:
        hinted = hinted_subject(params, client.client_id)
    except OAuth2Error as error:
        return _error(error.error or "invalid_request")
    company = params.get("company_account") or None
    if client.console_login and company is None:
        # The console's web login starts with the company account (SPEC §3).
        if session is not None and remembered_company:
            return Decision(Action.COMPANY_STEP)  # the view adds the remembered one: no form
        return _error("login_required") if silent else Decision(Action.COMPANY_STEP)
    if session is None:
        return _error("login_required") if silent else Decision(Action.LOGIN)
    if _needs_login(session, params, hinted):
        return _error("login_required") if silent else Decision(Action.REAUTHENTICATE)
    if company is not None and claims.console_roles(session.account, company) is None:
        return Decision(Action.NOT_CONSOLE_USER)
    offline = OFFLINE_ACCESS in scopes
    if not offline and (client.first_party or consented(session.account_id, client.client_id, scopes)):
        return Decision(Action.ISSUE)
    return _error("consent_required") if silent else Decision(Action.CONSENT)


def consented(account_id: int, client_id: str, scopes: list[str]) -> bool:
    consent = db.session.get(Consent, (account_id, client_id))
    return consent is not None and set(scopes) <= set(consent.scopes)


def record_consent(account_id: int, client_id: str, scopes: list[str]) -> None:
    scopes = [scope for scope in scopes if scope != OFFLINE_ACCESS]  # asked for every time
    consent = db.session.get(Consent, (account_id, client_id))
    if consent is None:
        db.session.add(Consent(account_id=account_id, client_id=client_id, scopes=scopes))
    else:
        consent.scopes = sorted(set(consent.scopes) | set(scopes))
