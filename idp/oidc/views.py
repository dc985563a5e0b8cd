"""Provider endpoints: discovery, JWKS, authorize (+ consent), token, userinfo.

    /authorize ─ invalid client or redirect_uri ─► error page (400), never a redirect
               ─ other invalid request ─────────► redirect to the client with ?error=…
               ─ no session: prompt=none ──────► redirect ?error=login_required
                             otherwise ────────► /login?next=<this request>
               ─ prompt=login / max_age passed ► /login again (fresh auth_time)
               ─ consent needed ──────────────► consent page (POST, CSRF) ─► code
               ─ else ────────────────────────► redirect ?code=…&state=…&iss=…
"""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select

from idp import audit
from idp import clock
from idp import sessions
from idp.extensions import csrf
from idp.extensions import db
from idp.oidc import claims
from idp.oidc import console_login
from idp.oidc.claims import SCOPES
from idp.oidc.client_assertion import ASSERTION_ALGS
from idp.oidc.keys import ALGORITHMS
from idp.oidc.models import Consent
from idp.oidc.models import OAuth2Token
from idp.oidc.server import CLIENT_AUTH_METHODS
from idp.security.headers import allow_form_redirect
from idp.security.tokens import token_hash
from idp.selfservice.login import SIGNED_OUT

bp = Blueprint("oidc", __name__)

NOT_CONSOLE_USER = _l("Your account has no access to the console of the company account %(company)s. "
                      "Ask a console administrator of that contract to give you a role.")


def _server():  # type: ignore[no-untyped-def]
    return current_app.extensions["idp.oauth2"]


@bp.get("/.well-known/openid-configuration")
def discovery() -> ResponseReturnValue:
    settings = current_app.config["IDP_SETTINGS"]
    issuer = settings.server.issuer.rstrip("/")
    response = jsonify({
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
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "name", "given_name",
                             "family_name", "preferred_username", "locale", "email", "email_verified",
                             "phone_number", "contracts"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": True,
    })
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/jwks")
def jwks() -> ResponseReturnValue:
    response = jsonify(current_app.extensions["idp.keys"].jwks())
    # Short cache: a rotation publishes the new key an hour (key_publish_seconds) ahead.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


class ConsentForm(FlaskForm):
    pass


def _error_page(error: OAuth2Error) -> ResponseReturnValue:
    return render_template("oidc/error.html", error=error.error, description=error.description), 400


def _login_redirect(*, reauthenticate: bool, login_hint: str | None = None) -> ResponseReturnValue:
    """Send the person to the login form, to come back to this authorization request.

    A re-authentication (``prompt=login``, ``max_age`` passed, another person hinted)
    shows the form even over a live session, and the request comes back with
    ``auth_after`` in place of ``prompt=login``: only a login newer than now satisfies
    it, so following the redirect never issues a code on the old authentication.
    """
    args = request.args.to_dict(flat=True)
    if reauthenticate:
        prompt = [p for p in args.pop("prompt", "").split() if p != "login"]
        if prompt:
            args["prompt"] = " ".join(prompt)
        args["auth_after"] = str(int(clock.now().timestamp()))
    target = url_for("oidc.authorize") + "?" + urlencode(args)
    params = {"next": target}
    if reauthenticate:
        params["reauth"] = "1"
    if login_hint:
        params["login"] = login_hint[:254]
    return redirect(url_for("selfservice.login", **params))


def _needs_login(session: sessions.SsoSession, prompt: set[str]) -> str | None:
    """Why this session does not satisfy the request, or None: prompt, max_age, auth_after."""
    if "login" in prompt:
        return "prompt"
    age = (clock.now() - session.auth_time).total_seconds()
    max_age = request.args.get("max_age")
    if max_age is not None and age > int(max_age):
        return "max_age"
    auth_after = request.args.get("auth_after")
    if auth_after is not None and session.auth_time.timestamp() < int(auth_after):
        return "auth_after"
    return None


def _hinted_subject(client_id: str) -> str | None:
    """The ``sub`` of a valid ``id_token_hint`` issued to this client; raises on a bad hint."""
    hint = request.args.get("id_token_hint")
    if not hint:
        return None
    found = _hint_claims(hint)
    audience = (found or {}).get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if found is None or client_id not in audiences or not isinstance(found.get("sub"), str):
        raise OAuth2Error(error="invalid_request", description="id_token_hint is not a valid ID token for this client")
    return found["sub"]


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    server = _server()
    session = sessions.current()
    try:
        grant = server.get_consent_grant(end_user=session.account if session else None)
    except OAuth2Error as error:
        if getattr(error, "redirect_uri", None):
            # The client and its redirect URI are known good: tell the client, with iss.
            return _redirect(error.redirect_uri, error.error, getattr(error, "state", None))
        return _error_page(error)
    prompt = set((request.args.get("prompt") or "").split())
    if "none" in prompt and len(prompt) > 1:
        return _redirect_error(grant, "invalid_request")  # OIDC Core §3.1.2.1
    for name in ("max_age", "auth_after"):
        value = request.args.get(name)
        if value is not None and (not value.isdigit() or len(value) > 12):
            return _redirect_error(grant, "invalid_request")
    try:
        hinted = _hinted_subject(grant.client.client_id)
    except OAuth2Error as error:
        return _redirect_error(grant, error.error)
    login_hint = request.args.get("login_hint")
    if grant.client.console_login and not request.args.get("company_account"):
        # The console's web login starts with the company account (SPEC §3).
        here = url_for("oidc.authorize") + "?" + urlencode(request.args.to_dict(flat=True))
        known = console_login.remembered()
        if session is not None and known:
            return redirect(console_login.with_company(here, known))  # SSO: no form at all
        if "none" in prompt:
            return _redirect_error(grant, "login_required")
        return redirect(console_login.step_url(here))
    if session is None:
        if "none" in prompt:
            return _redirect_error(grant, "login_required")
        return _login_redirect(reauthenticate=False, login_hint=login_hint)
    reason = _needs_login(session, prompt)
    if reason is None and hinted is not None and hinted != session.account.public_id:
        reason = "id_token_hint"  # signed in as someone else than the client expects
    if reason is not None:
        if "none" in prompt:
            return _redirect_error(grant, "login_required")
        return _login_redirect(reauthenticate=True, login_hint=login_hint)
    account = session.account
    client = grant.client
    company_account = request.args.get("company_account")
    if company_account is not None and claims.console_roles(account, company_account) is None:
        # Not a console user of that contract: a clear page, nothing for the client.
        return render_template("oidc/error.html", error="access_denied",
                               description=str(NOT_CONSOLE_USER) % {"company": company_account[:16]}), 403
    scopes = (grant.request.payload.scope or "").split()
    if not client.first_party:
        consent = db.session.get(Consent, (account.id, client.client_id))
        if consent is None or not set(scopes) <= set(consent.scopes):
            form = ConsentForm()
            if request.method == "POST" and form.validate_on_submit() and request.form.get("decision") == "allow":
                if consent is None:
                    db.session.add(Consent(account_id=account.id, client_id=client.client_id, scopes=scopes))
                else:
                    consent.scopes = sorted(set(consent.scopes) | set(scopes))
                db.session.commit()
            elif request.method == "POST" and form.validate_on_submit():
                return _redirect_error(grant, "access_denied")
            else:
                if "none" in prompt:
                    return _redirect_error(grant, "consent_required")
                allow_form_redirect(grant.redirect_uri)
                return render_template("oidc/consent.html", client=client, scopes=scopes, form=form)
    return server.create_authorization_response(grant=grant, grant_user=account)


def _redirect(uri: str, error: str, state: str | None) -> ResponseReturnValue:
    """An error back to a validated redirect URI, with ``iss`` (RFC 9207 §2)."""
    params = {"error": error}
    if state:
        params["state"] = state
    params["iss"] = current_app.config["IDP_SETTINGS"].server.issuer
    return redirect(uri + ("&" if "?" in uri else "?") + urlencode(params))


def _redirect_error(grant, error: str) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    return _redirect(grant.redirect_uri, error, grant.request.payload.state)


class EndSessionForm(FlaskForm):
    pass


def _hint_claims(hint: str | None) -> dict | None:  # type: ignore[type-arg]
    """Claims of an ID token we signed (an expired one is fine, per RP-Initiated Logout §2)."""
    if not hint or len(hint) > 8192:
        return None
    try:
        token = jwt.decode(hint, current_app.extensions["idp.keys"].verification_keys(), algorithms=["RS256", "ES256"])
    except JoseError:
        return None
    if token.claims.get("iss") != current_app.config["IDP_SETTINGS"].server.issuer:
        return None
    return token.claims


@bp.route("/end-session", methods=["GET", "POST"])
def end_session() -> ResponseReturnValue:
    """RP-initiated logout: end the SSO session, then back to the client if it asked."""
    from idp.oidc.models import OAuth2Client

    source = request.form if request.method == "POST" else request.args
    hint = _hint_claims(source.get("id_token_hint"))
    if source.get("id_token_hint") and hint is None:
        return _error_page(OAuth2Error(error="invalid_request", description="id_token_hint is not valid"))
    audience = (hint or {}).get("aud")
    client_id = source.get("client_id") or (audience[0] if isinstance(audience, list) else audience)
    client = db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id)) if client_id else None
    target = source.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        return _error_page(OAuth2Error(error="invalid_request", description="post_logout_redirect_uri is not registered"))
    session = sessions.current()
    form = EndSessionForm()
    proven = session is not None and hint is not None and hint.get("sid") == session.id_hash[:32]
    if session is not None and not proven and not form.validate_on_submit():
        if target:
            allow_form_redirect(target)
        return render_template("oidc/end-session.html", form=form, client=client, params=source)
    if session is not None:
        sessions.end(session)
        audit.record(audit.EventTag.LOGOUT, session.account_id, client=client_id)
        db.session.commit()
    if target:
        state = source.get("state")
        return redirect(target + (("&" if "?" in target else "?") + urlencode({"state": state}) if state else ""))
    flash(str(SIGNED_OUT))
    return redirect(url_for("selfservice.login"))


@bp.post("/token")
@csrf.exempt
def token() -> ResponseReturnValue:
    return _server().create_token_response()


@bp.post("/revoke")
@csrf.exempt
def revoke() -> ResponseReturnValue:
    return _server().create_endpoint_response("revocation")


@bp.post("/introspect")
@csrf.exempt
def introspect() -> ResponseReturnValue:
    return _server().create_endpoint_response("introspection")


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo() -> ResponseReturnValue:
    from idp.directory.models import Account

    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    row = None
    if scheme.lower() == "bearer" and value:
        row = db.session.scalar(select(OAuth2Token).where(OAuth2Token.access_token_hash == token_hash(value.strip())))
    if row is None or row.is_revoked() or row.is_expired():
        response = jsonify(error="invalid_token", error_description="The access token is invalid or expired.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    account = db.session.get(Account, row.account_id)
    if account is None or not account.is_active:
        return jsonify(error="invalid_token"), 401
    response = jsonify({**claims.userinfo(account, row.scope), **claims.company_claims(account, row.company_account)})
    response.headers["Cache-Control"] = "no-store"
    return response
