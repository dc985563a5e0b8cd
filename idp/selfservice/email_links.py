"""The pages behind links mailed about an address (``email_change``).

    /email/confirm/<token>  GET: what will change, a button; POST: the address switches
    /email/cancel/<token>   GET: the pending change, a button; POST: it is cancelled
    /email/verify/<token>   GET: the address is proven (access email, invitation email,
                            "verify my address"), then on to where that email leads
    /account/email/verify   POST, signed in: mail a proof link to the current address

Confirm and cancel ask for a click: mail scanners fetch links, and a GET must not move an
address. A proof link only records that the mailbox was reached, so a GET is enough.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from idp import sessions
from idp.extensions import db
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import ratelimit
from idp.selfservice import email_change
from idp.selfservice.forms import TOO_MANY
from idp.sessions import signed_in

bp = Blueprint("email_links", __name__)

CONFIRMED = _l("Your email address is now %(email)s.")
CANCELLED = _l("The change of your email address has been cancelled. If you did not ask for it, change your password.")
VERIFIED = _l("Your email address has been verified.")
PROOF_SENT = _l("A verification link has been sent to %(email)s.")


class LinkForm(FlaskForm):
    pass


def _invalid(exc: email_change.ChangeLinkInvalid) -> ResponseReturnValue:
    db.session.rollback()
    return render_template("selfservice/email-link.html", error=str(exc.message)), exc.status


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    form = LinkForm()
    try:
        change = email_change.find(token)
        if not form.validate_on_submit():
            return render_template("selfservice/email-link.html", form=form, change=change, action="confirm")
        email_change.confirm(change)
    except email_change.ChangeLinkInvalid as exc:
        return _invalid(exc)
    db.session.commit()
    return render_template("selfservice/email-link.html", done=str(CONFIRMED) % {"email": change.new_email})


@bp.route("/email/cancel/<token>", methods=["GET", "POST"])
def cancel(token: str) -> ResponseReturnValue:
    form = LinkForm()
    try:
        change = email_change.find(token, cancel=True)
        if not form.validate_on_submit():
            return render_template("selfservice/email-link.html", form=form, change=change, action="cancel")
        email_change.cancel(change)
    except email_change.ChangeLinkInvalid as exc:
        return _invalid(exc)
    db.session.commit()
    return render_template("selfservice/email-link.html", done=str(CANCELLED))


@bp.get("/email/verify/<token>")
def verify(token: str) -> ResponseReturnValue:
    account = email_change.prove(token)
    if account is None:
        return _invalid(email_change.ChangeLinkInvalid())
    db.session.commit()
    if account.password_hash is None:  # the access email: on to the first password
        return redirect(url_for("password.forgot_password", login=account.login))
    if request.args.get("next") == "invitations":  # an invitation email (one fixed target)
        return redirect(url_for("invitations.page"))
    return render_template("selfservice/email-link.html", done=str(VERIFIED))


@bp.post("/account/email/verify")
@signed_in
def send_proof(current: sessions.SsoSession) -> ResponseReturnValue:
    account = current.account
    s = current_app.config["IDP_SETTINGS"].selfservice
    back = url_for("invitations.page" if request.form.get("back") == "invitations" else "account.profile")
    if not LinkForm().validate_on_submit():
        return redirect(back)
    if not ratelimit.hit(f"email-proof:acct:{account.id}", s.email_changes_per_account, s.request_window_seconds):
        flash(str(TOO_MANY))
        return redirect(back)
    enqueue(messages.for_account("email-verify", account, link=email_change.proof_link(account)))
    db.session.commit()
    flash(str(PROOF_SENT) % {"email": account.email})
    return redirect(back)
