"""My account: the profile (view and edit) and the password change.

A new email address needs the current password and is confirmed from the new mailbox
before it takes effect (``email_change``); a changed password needs the current one
(a wrong one counts like a failed login), ends every other session and is confirmed
by email.
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
from wtforms import Field

from idp import sessions
from idp.directory import service
from idp.directory.credentials import web_subject
from idp.directory.models import Account
from idp.extensions import db
from idp.security import audit
from idp.security import credentials
from idp.security import new_password
from idp.security import ratelimit
from idp.security.throttle import Locked
from idp.selfservice import email_change
from idp.selfservice.email_links import LinkForm
from idp.selfservice.forms import TOO_MANY
from idp.selfservice.forms import WRONG_CURRENT
from idp.selfservice.forms import ChangePasswordForm
from idp.selfservice.forms import ProfileForm
from idp.selfservice.password import check_new_password
from idp.sessions import signed_in

bp = Blueprint("account", __name__, url_prefix="/account")

PROFILE_SAVED = _l("Your profile has been updated.")
PASSWORD_CHANGED = _l("Your password has been changed. Your other sessions have been closed.")
PASSWORD_FOR_EMAIL = _l("Type your current password to change your email address.")
CONFIRMATION_SENT = _l(
    "A confirmation link has been sent to %(email)s. Your email address will change when you follow it."
)
PHONE_REQUIRED = _l("Please give a landline or a mobile phone number.")
INVALID_EMAIL = _l("This email address is not valid.")
INVALID_PHONE = _l("This phone number is not valid.")


@bp.route("", methods=["GET", "POST"])
@signed_in
def profile(current: sessions.SsoSession) -> ResponseReturnValue:
    account = current.account
    form = ProfileForm(obj=account if request.method == "GET" else None)
    context = {"account": account, "pending": email_change.pending(account.id), "proof_form": LinkForm()}
    if not form.is_submitted():
        return render_template("selfservice/account.html", form=form, **context)
    if not (form.validate() and _apply_profile(form, account)):
        db.session.rollback()
        return render_template("selfservice/account.html", form=form, **context), 400
    db.session.commit()
    flash(str(PROFILE_SAVED))
    if service.canonical_email(form.email.data or "") != account.email_canonical:
        flash(str(CONFIRMATION_SENT) % {"email": (form.email.data or "").strip()})
    return redirect(url_for("account.profile"))


def _error(field: Field, message: object) -> None:
    field.errors = [*field.errors, str(message)]


def _apply_profile(form: ProfileForm, account: Account) -> bool:
    """Check every field with the directory's rules, then change the account, or nothing.

    A new email address is only *requested* here (``email_change``): it needs the current
    password, and switches when the link mailed to it is followed."""
    email = (form.email.data or "").strip()
    landline = (form.landline.data or "").strip() or None
    mobile = (form.mobile.data or "").strip() or None
    ok = True
    if len(email) > 254 or not service.EMAIL_RE.fullmatch(email):
        _error(form.email, INVALID_EMAIL)
        ok = False
    if not landline and not mobile:
        _error(form.mobile, PHONE_REQUIRED)
        ok = False
    for field, number in ((form.landline, landline), (form.mobile, mobile)):
        if number and not service.PHONE_RE.fullmatch(number):
            _error(field, INVALID_PHONE)
            ok = False
    new_email = ok and service.canonical_email(email) != account.email_canonical
    if new_email and not _may_change_email(form, account):
        ok = False
    if not ok:
        return False
    if new_email:
        email_change.request_change(account, email)
    account.first_name = (form.first_name.data or "").strip()
    account.last_name = (form.last_name.data or "").strip()
    account.landline, account.mobile = landline, mobile
    account.civility = form.civility.data or None
    account.language = form.language.data if form.language.data in {"fr", "en"} else account.language
    audit.record(audit.EventTag.PROFILE_UPDATED, account.id)
    return True


def _may_change_email(form: ProfileForm, account: Account) -> bool:
    """Whoever sets the address owns the account: a session alone is not enough. The current
    password goes through the login's throttle (a wrong one counts as a failure), and the
    requests per account are limited, since each one mails two addresses."""
    s = current_app.config["IDP_SETTINGS"].selfservice
    password = form.current_password.data or ""
    if not password:
        _error(form.current_password, PASSWORD_FOR_EMAIL)
        return False
    if not ratelimit.hit(f"email-change:acct:{account.id}", s.email_changes_per_account, s.request_window_seconds):
        _error(form.email, TOO_MANY)
        audit.record(audit.EventTag.EMAIL_CHANGE_REFUSED, account.id, reason="rate limited")
        return False
    try:
        credentials.check(credentials.WEB_REAUTH, web_subject(account), password)
    except credentials.InvalidCredentials:
        _error(form.current_password, WRONG_CURRENT)
    except Locked as exc:
        _error(form.current_password, exc.message)
    else:
        return True
    audit.record(audit.EventTag.EMAIL_CHANGE_REFUSED, account.id, reason="wrong password")
    return False


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password(current: sessions.SsoSession) -> ResponseReturnValue:
    account = current.account
    form = ChangePasswordForm()
    if not form.is_submitted():
        return render_template("selfservice/account-password.html", form=form, account=account)
    s = current_app.config["IDP_SETTINGS"].selfservice
    if not ratelimit.hit(
        f"password-change:acct:{account.id}", s.password_changes_per_account, s.request_window_seconds
    ):
        return render_template(
            "selfservice/account-password.html", form=form, account=account, error=str(TOO_MANY)
        ), 429
    if form.validate():
        try:
            # The current password goes through the login's throttle: a wrong one counts as a failure.
            credentials.check(credentials.WEB_REAUTH, web_subject(account), form.current.data or "")
        except credentials.InvalidCredentials:
            form.current.errors = [str(WRONG_CURRENT)]
        except Locked as exc:
            form.current.errors = [str(exc.message)]
        else:
            if check_new_password(form, account.login):
                new_password.apply(
                    account, form.password.data or "", new_password.Reason.CHANGE, keep_session_hash=current.id_hash
                )
                db.session.commit()
                flash(str(PASSWORD_CHANGED))
                return redirect(url_for("account.profile"))
    return render_template("selfservice/account-password.html", form=form, account=account), 400
