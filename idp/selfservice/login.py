"""Login, logout and the signed-in landing page.

[no session] --GET /login--> form --POST ok--> [session, cookie rotated] --> next or /
                                  --POST bad--> form + one generic message (401)
                                  --locked----> form + retry-later message (429)
[session] --POST /logout--> [ended, cookie cleared] --> /login
"""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session as form_state
from flask import url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from idp import sessions
from idp.directory.credentials import authenticate
from idp.directory.models import Membership
from idp.extensions import db
from idp.keystone.views import versions
from idp.oidc.grants import query_client
from idp.security import audit
from idp.security.credentials import InvalidCredentials
from idp.security.headers import allow_form_redirect
from idp.security.redirects import safe_next
from idp.security.throttle import Locked
from idp.selfservice.forms import LoginForm
from idp.selfservice.forms import LogoutForm
from idp.ui import SIGNED_OUT

bp = Blueprint("selfservice", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    target = safe_next(form.next.data or request.args.get("next"))
    if request.method == "GET" and sessions.current() is not None and not request.args.get("reauth"):
        return redirect(target)  # already signed in, unless the client asked to sign in again
    status = 200
    error = None
    if form.validate_on_submit():
        try:
            account = authenticate(form.login.data or "", form.password.data or "")
        except (InvalidCredentials, Locked) as exc:
            error, status = str(exc.message), exc.status
        else:
            previous = sessions.current()
            if previous is not None:
                sessions.end(previous)
            # Rotation: a fresh session id and a fresh CSRF secret after authentication.
            form_state.clear()
            sessions.open_session(account)
            audit.record(audit.EventTag.LOGIN_SUCCESS, account.id)
            db.session.commit()
            return redirect(target)
    elif request.method == "POST":
        status = 400
    if request.method == "GET" and request.args.get("login"):
        form.login.data = request.args["login"][:254]  # login_hint from the client
    form.next.data = target
    form.password.data = ""
    _allow_client_redirect(target)
    return render_template("selfservice/login.html", form=form, error=error), status


def _allow_client_redirect(target: str) -> None:
    """If the login continues an authorization request, its client's registered redirect
    URI is where the form's redirects end: let the page's CSP say so."""
    parts = urlsplit(target)
    if parts.path != url_for("oidc.authorize"):
        return
    args = parse_qs(parts.query)
    client = query_client((args.get("client_id") or [""])[0])
    redirect_uri = (args.get("redirect_uri") or [""])[0]
    if client is not None and client.check_redirect_uri(redirect_uri):
        allow_form_redirect(redirect_uri)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    current = sessions.current()
    if request.method == "GET":
        if current is None:
            return redirect(url_for("selfservice.login"))
        return render_template("selfservice/logout.html", form=form)
    if form.validate_on_submit() and current is not None:
        sessions.end(current)
        audit.record(audit.EventTag.LOGOUT, current.account_id)
        db.session.commit()
    form_state.clear()
    flash(str(SIGNED_OUT))
    return redirect(url_for("selfservice.login"))


@bp.get("/")
def home() -> ResponseReturnValue:
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return versions()  # Keystone version discovery (generic clients GET the root)
    current = sessions.current()
    if current is None:
        return redirect(url_for("selfservice.login", next=request.path))
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.account_id == current.account_id)
        .options(selectinload(Membership.contract), selectinload(Membership.console_roles))
        .order_by(Membership.contract_id)
    ).all()
    return render_template(
        "selfservice/home.html", account=current.account, memberships=memberships, logout_form=LogoutForm()
    )
