"""Forgot password (also the first-access "password customization"), the reset link page,
and the password change of My account.

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
from flask import request
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from idp import audit
from idp import clock
from idp import sessions
from idp.directory.models import Account
from idp.extensions import db
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import password_policy
from idp.security.passwords import PasswordHasher
from idp.security.throttle import LoginThrottle
from idp.selfservice import flows
from idp.selfservice.authentication import canonical_login
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
    key = canonical_login(login)
    account = db.session.query(Account).filter_by(login_canonical=key).one_or_none()
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
    settings = current_app.config["IDP_SETTINGS"]
    password = form.password.data or ""
    result = password_policy.evaluate(password, login, settings.passwords.max_length)
    if not result.ok:
        form.password.errors = list(form.password.errors) + result.messages(settings.passwords.max_length)
        return False
    if password != (form.confirm.data or ""):
        form.confirm.errors = list(form.confirm.errors) + [str(PASSWORDS_DIFFER)]
        return False
    return True


def set_new_password(account: Account, password: str, keep: sessions.SsoSession | None = None) -> None:
    """Store the password, end the other sessions, clear the lockout, send the confirmation."""
    hasher: PasswordHasher = current_app.extensions["idp.hasher"]
    throttle: LoginThrottle = current_app.extensions["idp.throttle"]
    account.password_hash = hasher.hash(password)
    account.password_changed_at = clock.now()
    sessions.end_all(account.id, keep=keep)
    # Whoever proved they own the mailbox gets in at once, even if someone locked the login.
    throttle.succeed(account.login_canonical)
    enqueue(messages.for_account("password-changed", account,
                                 link=messages.external_url("password.forgot_password")))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if not form.is_submitted():
        form.login.data = (request.args.get("login") or "")[:64]
        return render_with_captcha("selfservice/forgot-password.html", form)
    login = form.login.data or ""
    return captcha_request(
        form, purpose="forgot-password", target=canonical_login(login),
        template="selfservice/forgot-password.html", sent_template="selfservice/forgot-password-sent.html",
        act=lambda: request_reset(login),
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    settings = current_app.config["IDP_SETTINGS"]
    form = NewPasswordForm()
    try:
        link = flows.find(token, settings.selfservice.link_max_attempts)
    except flows.LinkInvalid as exc:
        audit.record(audit.EventTag.PASSWORD_LINK_REFUSED, None)
        db.session.commit()
        return render_template("selfservice/link-invalid.html", message=str(exc.message)), exc.status
    account = link.account
    if form.is_submitted():
        flows.count_attempt(link)
        db.session.commit()
        if form.validate() and check_new_password(form, account.login):
            if not flows.consume(link):
                db.session.rollback()
                return render_template("selfservice/link-invalid.html", message=str(flows.LinkInvalid.message)), 410
            set_new_password(account, form.password.data or "")
            audit.record(audit.EventTag.PASSWORD_RESET_COMPLETED, account.id)
            db.session.commit()
            flash(str(PASSWORD_SET))
            return redirect(url_for("selfservice.login"))
        status = 400
    else:
        status = 200
    return render_template("selfservice/reset-password.html", form=form, account=account, token=token), status
