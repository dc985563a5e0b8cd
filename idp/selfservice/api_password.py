"""API password reset (guide §6.1): the flow, and its web pages (FR/EN).

    step 1  company account + email + captcha ──► the same answer whoever it names;
            a console user of that contract with that email gets a 60-second code
    step 2  new API password twice + the code ──► policy, then one try of the code
            ──► API password set, the user's Keystone tokens end, confirmation email

The same two steps are served as JSON by ``api_password_json``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Regexp

from idp.directory import console_users
from idp.extensions import db
from idp.security import audit
from idp.security import canonical
from idp.security import codes
from idp.security.canonical import COMPANY_ACCOUNT_RE
from idp.security.codes import CodePurpose
from idp.security.new_password import policy_errors
from idp.selfservice.forms import PASSWORDS_DIFFER
from idp.selfservice.forms import REQUIRED
from idp.selfservice.forms import CaptchaForm
from idp.selfservice.limits import captcha_request
from idp.selfservice.limits import render_with_captcha
from idp.selfservice.notifications import send_verification_code

bp = Blueprint("api_password", __name__)

COMPANY_LABEL = _l("Company account (domain name)")
BAD_COMPANY = _l("A company account looks like OCB0000124.")
WRONG_CODE = _l("The verification code is wrong, used or expired. Ask for a new one.")
API_PASSWORD_SET = _l("Your API password has been set. Your previous API tokens no longer work.")
PURPOSE = CodePurpose.API_PASSWORD_RESET
LIMIT_PURPOSE = "api-password"


class ConfirmAccountForm(CaptchaForm):
    company_account = StringField(
        COMPANY_LABEL,
        validators=[DataRequired(REQUIRED), Regexp(rf"^\s*{COMPANY_ACCOUNT_RE.pattern}\s*$", message=BAD_COMPANY)],
    )
    email = StringField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])


class ResetApiPasswordForm(FlaskForm):
    company_account = HiddenField()
    email = HiddenField()
    password = PasswordField(_l("New API password"), validators=[DataRequired(REQUIRED), Length(max=4096)])
    confirm = PasswordField(_l("Confirm API password"), validators=[DataRequired(REQUIRED), Length(max=4096)])
    code = StringField(_l("Email verification code"), validators=[DataRequired(REQUIRED), Length(max=16)])


def limit_target(company_account: str, email: str) -> str:
    return f"{canonical.company_account(company_account)}:{canonical.email(email)}"


def send_code(company_account: str, email: str) -> None:
    """Email a code if someone matches; record the request either way, revealing nothing."""
    user = console_users.by_email(company_account, email)
    if user is not None:
        send_verification_code(user, PURPOSE)
    audit.record(
        audit.EventTag.API_PASSWORD_RESET_REQUESTED,
        user.account.id if user else None,
        subject=audit.subject_hash(limit_target(company_account, email)),
        known=user is not None,
    )


def reset(company_account: str, email: str, password: str, confirm: str, code: str) -> tuple[list[str], list[str]]:
    """Step 2: (password errors, code errors); both empty when the API password was set.

    The policy is checked first, so a typo in the password does not spend a try of the code.
    """
    user = console_users.by_email(company_account, email)
    password_errors = policy_errors(password, user.account.login if user else None)
    if not password_errors and password != confirm:
        password_errors = [str(PASSWORDS_DIFFER)]
    if password_errors:
        return password_errors, []
    if user is None or not codes.check(user.id, PURPOSE, code, account_id=user.account.id):
        db.session.commit()  # the spent try stays spent
        return [], [str(WRONG_CODE)]
    console_users.set_api_password(user, password)
    db.session.commit()
    return [], []


@bp.route("/api-password", methods=["GET", "POST"])
def confirm_account() -> ResponseReturnValue:
    form = ConfirmAccountForm()
    if not form.is_submitted():
        form.company_account.data = (request.args.get("company_account") or "")[:10]
        return render_with_captcha("selfservice/api-password.html", form)
    company, email = canonical.company_account(form.company_account.data or ""), (form.email.data or "").strip()
    next_form = ResetApiPasswordForm(formdata=None, company_account=company, email=email)
    return captcha_request(
        form,
        purpose=LIMIT_PURPOSE,
        target=limit_target(company, email),
        template="selfservice/api-password.html",
        sent_template="selfservice/api-password-new.html",
        act=lambda: send_code(company, email),
        context={"form": next_form},
    )


@bp.route("/api-password/new", methods=["POST"])
def reset_api_password() -> ResponseReturnValue:
    form = ResetApiPasswordForm()
    if not form.validate():
        return render_template("selfservice/api-password-new.html", form=form), 400
    password_errors, code_errors = reset(
        form.company_account.data or "",
        form.email.data or "",
        form.password.data or "",
        form.confirm.data or "",
        form.code.data or "",
    )
    if password_errors or code_errors:
        form.password.errors = password_errors
        form.code.errors = code_errors
        form.code.data = ""
        return render_template("selfservice/api-password-new.html", form=form), 400
    return render_template("selfservice/api-password-done.html", message=str(API_PASSWORD_SET))
