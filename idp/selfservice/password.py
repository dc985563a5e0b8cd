"""Forgot password (also the first-access "password customization") and the reset link page.

/forgot-password  login + captcha ──► same confirmation page, known login or not
                  (known & active: a PasswordLink and its email, in one transaction)
/reset-password/<token>  new password twice ──► policy ──► password set, link used,
                  every session ended, confirmation email ──► /login
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
from sqlalchemy import select

from idp.directory.models import Account
from idp.extensions import db
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security import canonical
from idp.security import new_password
from idp.selfservice import email_change
from idp.selfservice import flows
from idp.selfservice.forms import PASSWORDS_DIFFER
from idp.selfservice.forms import ForgotPasswordForm
from idp.selfservice.forms import NewPasswordForm
from idp.selfservice.limits import Decoy
from idp.selfservice.limits import captcha_request
from idp.selfservice.limits import render_with_captcha

bp = Blueprint("password", __name__)

PASSWORD_SET = _l("Your password has been changed. You can now sign in with it.")


def request_reset(login: str) -> None:
    """Send a link if the login exists; never tell the caller whether it did."""
    settings = current_app.config["IDP_SETTINGS"]
    key = canonical.login(login)
    account = db.session.scalar(select(Account).where(Account.login_canonical == key))
    if account is None or not account.is_active:
        # Spend what a real request spends (rendering the email), so time tells nothing.
        messages.render("password-reset", "nobody@invalid", "fr", account=Decoy, link="https://invalid/x" * 3)
        audit.record(audit.EventTag.PASSWORD_RESET_REQUESTED, None, subject=audit.subject_hash(key), known=False)
        return
    token = flows.issue(account, settings.selfservice.password_link_max_age_seconds)
    link = messages.external_url("password.reset_password", token=token)
    enqueue(messages.for_account("password-reset", account, link=link))
    audit.record(audit.EventTag.PASSWORD_RESET_REQUESTED, account.id, known=True)


def check_new_password(form: NewPasswordForm, login: str) -> bool:
    """Policy and confirmation; errors land next to their field."""
    password = form.password.data or ""
    unmet = new_password.policy_errors(password, login)
    if unmet:
        form.password.errors = list(form.password.errors) + unmet
        return False
    if password != (form.confirm.data or ""):
        form.confirm.errors = [*form.confirm.errors, str(PASSWORDS_DIFFER)]
        return False
    return True


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if not form.is_submitted():
        form.login.data = (request.args.get("login") or "")[:64]
        return render_with_captcha("selfservice/forgot-password.html", form)
    login = form.login.data or ""
    return captcha_request(
        form,
        purpose="forgot-password",
        target=canonical.login(login),
        template="selfservice/forgot-password.html",
        sent_template="selfservice/forgot-password-sent.html",
        act=lambda: request_reset(login),
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    max_attempts = current_app.config["IDP_SETTINGS"].selfservice.link_max_attempts
    form = NewPasswordForm()
    try:
        link = flows.find(token, max_attempts)
        if form.is_submitted():
            flows.spend_attempt(link, max_attempts)
    except flows.LinkInvalid as exc:
        audit.record(audit.EventTag.PASSWORD_LINK_REFUSED, None)
        db.session.commit()
        return render_template("selfservice/link-invalid.html", message=str(exc.message)), exc.status
    account = link.account
    # Links die when the address changes, so following one proves the current address.
    email_change.mark_verified(account)
    if not form.is_submitted():
        db.session.commit()
        return render_template("selfservice/reset-password.html", form=form, account=account, token=token)
    if form.validate() and check_new_password(form, account.login):
        # The new password first (argon2 before any write: no lock held while hashing), then
        # the link's single use; a link used meanwhile by another request undoes it all.
        new_password.apply(account, form.password.data or "", new_password.Reason.RESET)
        if not flows.consume(link):
            db.session.rollback()
            return render_template("selfservice/link-invalid.html", message=str(flows.LinkInvalid.message)), 410
        db.session.commit()
        flash(str(PASSWORD_SET))
        return redirect(url_for("selfservice.login"))
    return render_template("selfservice/reset-password.html", form=form, account=account, token=token), 400
