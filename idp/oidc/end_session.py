"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

/end-session ─ id_token_hint whose sid is this session ─► signed out at once
             ─ otherwise, with a session ───────────────► confirmation page (POST, CSRF)
             ─ post_logout_redirect_uri (exact match for the client) ─► back, with state
"""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from idp import sessions
from idp.extensions import db
from idp.oidc import clients
from idp.oidc.authorize import hint_claims
from idp.oidc.blueprint import bp
from idp.oidc.logout import sid_of
from idp.security import audit
from idp.security.headers import allow_form_redirect
from idp.ui import SIGNED_OUT


class EndSessionForm(FlaskForm):
    pass


def error_page(error: OAuth2Error) -> ResponseReturnValue:
    return render_template("oidc/error.html", error=error.error, description=error.description), 400


@bp.route("/end-session", methods=["GET", "POST"])
def end_session() -> ResponseReturnValue:
    """RP-initiated logout: end the SSO session, then back to the client if it asked."""
    source = request.form if request.method == "POST" else request.args
    hint = hint_claims(source.get("id_token_hint"))
    if source.get("id_token_hint") and hint is None:
        return error_page(OAuth2Error(error="invalid_request", description="id_token_hint is not valid"))
    audience = (hint or {}).get("aud")
    client_id = source.get("client_id") or (audience[0] if isinstance(audience, list) else audience)
    client = clients.find(client_id) if isinstance(client_id, str) and client_id else None
    target = source.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        return error_page(
            OAuth2Error(error="invalid_request", description="post_logout_redirect_uri is not registered")
        )
    session = sessions.current()
    form = EndSessionForm()
    proven = session is not None and hint is not None and hint.get("sid") == sid_of(session.id_hash)
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
