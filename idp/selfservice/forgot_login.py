"""Forgot login: email + captcha ──► the same confirmation page whether or not an account
has that email; when one does, an email reminds it of its login."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from idp import audit
from idp.directory.models import Account
from idp.directory.service import canonical_email
from idp.extensions import db
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import captcha
from idp.selfservice.forms import TOO_MANY
from idp.selfservice.forms import WRONG_CAPTCHA
from idp.selfservice.forms import ForgotLoginForm
from idp.selfservice.limits import within_limits
from idp.selfservice.password import render_with_captcha

bp = Blueprint("forgot_login", __name__)


def send_login_reminder(email: str) -> None:
    key = canonical_email(email)
    account = db.session.scalar(select(Account).where(Account.email_canonical == key))
    link = messages.external_url("selfservice.login")
    if account is None or not account.is_active:
        messages.render("login-reminder", "nobody@invalid", "fr", account=_Decoy, link=link)  # same cost
        audit.record(audit.EventTag.LOGIN_REMINDER_REQUESTED, None, subject=audit.subject_hash(key), known=False)
        return
    enqueue(messages.for_account("login-reminder", account, link=link))
    audit.record(audit.EventTag.LOGIN_REMINDER_REQUESTED, account.id, known=True)


class _Decoy:
    first_name = "Paul"
    login = "decoy.login"


@bp.route("/forgot-login", methods=["GET", "POST"])
def forgot_login() -> ResponseReturnValue:
    form = ForgotLoginForm()
    if not form.is_submitted():
        return render_with_captcha("selfservice/forgot-login.html", form)
    if not form.validate():
        return render_with_captcha("selfservice/forgot-login.html", form, 400)
    email = form.email.data or ""
    if not within_limits("forgot-login", canonical_email(email)):
        return render_with_captcha("selfservice/forgot-login.html", form, 429, error=str(TOO_MANY))
    if not captcha.check(form.captcha_id.data, form.captcha.data):
        audit.record(audit.EventTag.CAPTCHA_FAILED, None, purpose="forgot-login")
        form.captcha.errors = [str(WRONG_CAPTCHA)]
        return render_with_captcha("selfservice/forgot-login.html", form, 400)
    send_login_reminder(email)
    db.session.commit()
    return render_template("selfservice/forgot-login-sent.html")
