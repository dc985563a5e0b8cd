"""Forgot login: email + captcha ──► the same confirmation page whether or not an account
has that email; when one does, an email reminds it of its login."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from idp.directory.models import Account
from idp.extensions import db
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security.canonical import email as canonical_email
from idp.selfservice.forms import ForgotLoginForm
from idp.selfservice.limits import Decoy
from idp.selfservice.limits import captcha_request
from idp.selfservice.limits import render_with_captcha

bp = Blueprint("forgot_login", __name__)


def send_login_reminder(email: str) -> None:
    key = canonical_email(email)
    account = db.session.scalar(select(Account).where(Account.email_canonical == key))
    link = messages.external_url("selfservice.login")
    if account is None or not account.is_active:
        messages.render("login-reminder", "nobody@invalid", "fr", account=Decoy, link=link)  # same cost
        audit.record(audit.EventTag.LOGIN_REMINDER_REQUESTED, None, subject=audit.subject_hash(key), known=False)
        return
    enqueue(messages.for_account("login-reminder", account, link=link))
    audit.record(audit.EventTag.LOGIN_REMINDER_REQUESTED, account.id, known=True)


@bp.route("/forgot-login", methods=["GET", "POST"])
def forgot_login() -> ResponseReturnValue:
    form = ForgotLoginForm()
    if not form.is_submitted():
        return render_with_captcha("selfservice/forgot-login.html", form)
    email = form.email.data or ""
    return captcha_request(
        form,
        purpose="forgot-login",
        target=canonical_email(email),
        template="selfservice/forgot-login.html",
        sent_template="selfservice/forgot-login-sent.html",
        act=lambda: send_login_reminder(email),
    )
