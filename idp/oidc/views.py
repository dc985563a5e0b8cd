"""The provider's endpoints: authorize (and its consent form), token, revocation,
introspection, userinfo. What each request gets is decided elsewhere (``authorize``,
authlib's grants and endpoints); these views only turn decisions into responses.

    /authorize ─ invalid client or redirect_uri ─► error page (400), never a redirect
               ─ anything else ────────────────► authorize.decide(): an error to the client,
                                                  login, the company step, a page, consent, or a code
"""

from __future__ import annotations

from typing import Any
from typing import cast
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException

from idp import clock
from idp import errors
from idp import sessions
from idp.extensions import csrf
from idp.extensions import db
from idp.oidc import authorize as decisions
from idp.oidc import console_login
from idp.oidc.authorize import Action
from idp.oidc.blueprint import bp
from idp.oidc.end_session import error_page
from idp.security.headers import allow_form_redirect

NOT_CONSOLE_USER = _l(
    "Your account has no access to the console of the company account %(company)s. "
    "Ask a console administrator of that contract to give you a role."
)
# Fields of the consent form itself, never part of the authorization request.
CONSENT_FIELDS = frozenset({"csrf_token", "decision"})


class ConsentForm(FlaskForm):
    pass


def _server() -> AuthorizationServer:
    server: AuthorizationServer = current_app.extensions["idp.oauth2"]
    return server


# authlib's Flask server answers with Flask responses (its handle_response); its types are
# those of the framework-neutral base class (an object, a status tuple), hence the casts.


def _redirect(uri: str, error: str, state: str | None) -> ResponseReturnValue:
    """An error back to a validated redirect URI, with ``iss`` (RFC 9207 §2)."""
    params = {"error": error}
    if state and not decisions.too_long({"state": state}):  # an over-long one is not echoed
        params["state"] = state
    params["iss"] = current_app.config["IDP_SETTINGS"].server.issuer
    return redirect(uri + ("&" if "?" in uri else "?") + urlencode(params))


def _authorize_url(params: dict[str, str]) -> str:
    return url_for("oidc.authorize") + "?" + urlencode(params)


def _login_redirect(params: dict[str, str], *, reauthenticate: bool) -> ResponseReturnValue:
    """Send the person to the login form, to come back to this authorization request.

    A re-authentication shows the form even over a live session, and the request comes
    back with ``auth_after`` in place of ``prompt=login``: only a login newer than now
    satisfies it, so following the redirect never issues a code on the old authentication.
    """
    args = dict(params)
    target: dict[str, Any] = {}
    if reauthenticate:
        prompt = [p for p in args.pop("prompt", "").split() if p != "login"]
        if prompt:
            args["prompt"] = " ".join(prompt)
        args["auth_after"] = str(int(clock.now().timestamp()))
        target["reauth"] = "1"
    target["next"] = _authorize_url(args)
    if params.get("login_hint"):
        target["login"] = params["login_hint"][:254]
    return redirect(url_for("selfservice.login", **target))


def _consent(grant: Any, params: dict[str, str], session: sessions.SsoSession) -> ResponseReturnValue | None:
    """The consent page, or its answer; None once consent is given (go on and issue)."""
    form = ConsentForm()
    scopes = (grant.request.payload.scope or "").split()
    # Only the consent form (its CSRF token proves it) can answer: a relying party's POST
    # with a "decision" field is an authorization request like any other.
    if form.validate_on_submit() and request.form.get("decision") in {"allow", "deny"}:
        if request.form["decision"] == "deny":
            return _redirect(grant.redirect_uri, "access_denied", grant.request.payload.state)
        decisions.record_consent(session.account_id, grant.client.client_id, scopes)
        db.session.commit()
        return None
    allow_form_redirect(grant.redirect_uri)
    return render_template("oidc/consent.html", client=grant.client, scopes=scopes, form=form, params=params)


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # a relying party's POST carries no token of ours; the consent form checks its own
def authorize() -> ResponseReturnValue:
    server = _server()
    session = sessions.current()
    try:
        grant = server.get_consent_grant(end_user=session.account if session else None)
    except OAuth2Error as error:
        redirect_uri = getattr(error, "redirect_uri", None)
        if redirect_uri:
            # The client and its redirect URI are known good: tell the client, with iss.
            # (``error`` is set on every OAuth2Error authlib raises; str() is what urlencode does.)
            return _redirect(redirect_uri, str(error.error), getattr(error, "state", None))
        return error_page(error)
    data = grant.request.payload.data
    params = {k: data.get(k) for k in data if k not in CONSENT_FIELDS}
    remembered = console_login.remembered()
    decision = decisions.decide(params, grant.client, (grant.request.payload.scope or "").split(), session, remembered)
    match decision.action:
        case Action.ERROR:
            return _redirect(grant.redirect_uri, decision.error or "invalid_request", grant.request.payload.state)
        case Action.COMPANY_STEP:
            here = _authorize_url(params)
            if session is not None and remembered:
                return redirect(console_login.with_company(here, remembered))  # SSO: no form at all
            return redirect(console_login.step_url(here))
        case Action.LOGIN | Action.REAUTHENTICATE:
            return _login_redirect(params, reauthenticate=decision.action is Action.REAUTHENTICATE)
        case Action.NOT_CONSOLE_USER:
            # Not a console user of that contract: a clear page, nothing for the client.
            return render_template(
                "oidc/error.html",
                error="access_denied",
                description=str(NOT_CONSOLE_USER) % {"company": params["company_account"]},
            ), 403
        case Action.CONSENT:
            assert session is not None
            answer = _consent(grant, params, session)
            if answer is not None:
                return answer
    assert session is not None
    return cast(Response, server.create_authorization_response(grant=grant, grant_user=session.account))


@bp.post("/token")
@csrf.exempt
def token() -> ResponseReturnValue:
    return cast(Response, _server().create_token_response())


@bp.post("/revoke")
@csrf.exempt
def revoke() -> ResponseReturnValue:
    return cast(Response, _server().create_endpoint_response("revocation"))


@bp.post("/introspect")
@csrf.exempt
def introspect() -> ResponseReturnValue:
    return cast(Response, _server().create_endpoint_response("introspection"))


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo() -> ResponseReturnValue:
    response = cast(Response, _server().create_endpoint_response("userinfo"))
    response.headers["Cache-Control"] = "no-store"
    return response


# The endpoints clients call with a body of their own (RFC 6749 §5.2, RFC 7009, RFC 7662,
# OIDC Core §5.3): they answer errors as OAuth JSON, pages (authorize, logout) as pages.
OAUTH_JSON_ENDPOINTS = frozenset({"oidc.token", "oidc.revoke", "oidc.introspect", "oidc.userinfo"})


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> ResponseReturnValue:
    """A refusal raised before the view (``security.input_guard``: NUL characters, a body
    nested too deeply or too large) as ``invalid_request`` on the OAuth endpoints; the
    ordinary error page elsewhere (the CSRF page keeps its own, code-specific handler)."""
    status = error.code or 500
    if request.endpoint not in OAUTH_JSON_ENDPOINTS:
        return errors.error_page(status)
    body = {"error": "invalid_request", "error_description": error.description or ""}
    return body, status, {"Cache-Control": "no-store"}
