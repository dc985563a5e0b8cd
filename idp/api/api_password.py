"""API password reset (guide §6.1), as web pages (FR/EN) and as a JSON API.

    step 1  company account + email + captcha ──► the same answer whoever it names;
            a console user of that contract with that email gets a 60-second code
    step 2  new API password twice + the code ──► policy, then one try of the code
            ──► API password set, the user's Keystone tokens end, confirmation email

JSON: ``POST /v3.0/api-password/captchas`` (a challenge), ``POST /v3.0/api-password/codes``
(step 1, 202) and ``POST /v3.0/api-password`` (step 2, 204); errors in the Keystone body.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Regexp

from idp import audit
from idp.api import codes
from idp.api import console_users
from idp.api.errors import ApiError
from idp.api.errors import keystone_error
from idp.api.models import ConsoleUser
from idp.directory.models import Account
from idp.directory.models import Membership
from idp.directory.service import canonical_email
from idp.extensions import csrf
from idp.extensions import db
from idp.security import captcha
from idp.security import password_policy
from idp.selfservice.forms import PASSWORDS_DIFFER
from idp.selfservice.forms import REQUIRED
from idp.selfservice.forms import CaptchaForm
from idp.selfservice.limits import captcha_request
from idp.selfservice.limits import render_with_captcha
from idp.selfservice.limits import within_limits

bp = Blueprint("api_password", __name__)

COMPANY_LABEL = _l("Company account (domain name)")
BAD_COMPANY = _l("A company account looks like OCB0000124.")
WRONG_CODE = _l("The verification code is wrong, used or expired. Ask for a new one.")
API_PASSWORD_SET = _l("Your API password has been set. Your previous API tokens no longer work.")
PURPOSE = "api-password-reset"


class ConfirmAccountForm(CaptchaForm):
    company_account = StringField(COMPANY_LABEL, validators=[
        DataRequired(REQUIRED), Regexp(r"^\s*OCB\d{7}\s*$", message=BAD_COMPANY)])
    email = StringField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])


class ResetApiPasswordForm(FlaskForm):
    company_account = HiddenField()
    email = HiddenField()
    password = PasswordField(_l("New API password"), validators=[DataRequired(REQUIRED), Length(max=4096)])
    confirm = PasswordField(_l("Confirm API password"), validators=[DataRequired(REQUIRED), Length(max=4096)])
    code = StringField(_l("Email verification code"), validators=[DataRequired(REQUIRED), Length(max=16)])


def console_user_by_email(company_account: str, email: str) -> ConsoleUser | None:
    user = db.session.scalar(
        select(ConsoleUser).join(Membership, ConsoleUser.membership_id == Membership.id).join(Account)
        .where(Membership.contract_id == company_account.strip().upper(),
               Account.email_canonical == canonical_email(email), Account.status == "active"))
    return user


def send_code(company_account: str, email: str) -> None:
    """Email a code if someone matches; record the request either way, revealing nothing."""
    user = console_user_by_email(company_account, email)
    if user is not None:
        codes.issue(user, PURPOSE)
    audit.record(audit.EventTag.API_PASSWORD_RESET_REQUESTED, user.membership.account_id if user else None,
                 subject=audit.subject_hash(f"{company_account}:{email}".casefold()), known=user is not None)


def policy_errors(password: str, confirm: str, login: str | None) -> list[str]:
    settings = current_app.config["IDP_SETTINGS"]
    result = password_policy.evaluate(password, login, settings.passwords.max_length)
    if not result.ok:
        return result.messages(settings.passwords.max_length)
    if password != confirm:
        return [str(PASSWORDS_DIFFER)]
    return []


def reset(company_account: str, email: str, password: str, confirm: str, code: str) -> tuple[list[str], list[str]]:
    """Step 2: (password errors, code errors); both empty when the API password was set.

    The policy is checked first, so a typo in the password does not spend a try of the code.
    """
    user = console_user_by_email(company_account, email)
    password_errors = policy_errors(password, confirm, user.membership.account.login if user else None)
    if password_errors:
        return password_errors, []
    if user is None or not codes.check(user, PURPOSE, code):
        db.session.commit()  # the spent try stays spent
        return [], [str(WRONG_CODE)]
    console_users.set_api_password(user, password)
    db.session.commit()
    return [], []


# --- web pages ----------------------------------------------------------------------------


@bp.route("/api-password", methods=["GET", "POST"])
def confirm_account() -> ResponseReturnValue:
    form = ConfirmAccountForm()
    if not form.is_submitted():
        form.company_account.data = (request.args.get("company_account") or "")[:10]
        return render_with_captcha("api/api-password-step1.html", form)
    company, email = (form.company_account.data or "").strip().upper(), (form.email.data or "").strip()
    next_form = ResetApiPasswordForm(formdata=None, company_account=company, email=email)
    return captcha_request(
        form, purpose="api-password", target=f"{company}:{email}".casefold(),
        template="api/api-password-step1.html", sent_template="api/api-password-step2.html",
        act=lambda: send_code(company, email), context={"form": next_form},
    )


@bp.route("/api-password/new", methods=["POST"])
def reset_api_password() -> ResponseReturnValue:
    form = ResetApiPasswordForm()
    if not form.validate():
        return render_template("api/api-password-step2.html", form=form), 400
    password_errors, code_errors = reset(form.company_account.data or "", form.email.data or "",
                                         form.password.data or "", form.confirm.data or "", form.code.data or "")
    if password_errors or code_errors:
        form.password.errors = password_errors
        form.code.errors = code_errors
        form.code.data = ""
        return render_template("api/api-password-step2.html", form=form), 400
    return render_template("api/api-password-done.html", message=str(API_PASSWORD_SET))


# --- JSON API --------------------------------------------------------------------------------

json_bp = Blueprint("api_password_json", __name__, url_prefix="/v3.0/api-password")
csrf.exempt(json_bp)


@json_bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


def _fields(*names: str) -> dict[str, str]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not all(isinstance(data.get(n), str) and data.get(n) for n in names):
        raise ApiError(400, "Expecting " + ", ".join(names) + " in the request body.", "IAM.0003")
    return {n: data[n][:4096] for n in names}


@json_bp.post("/captchas")
def new_captcha() -> ResponseReturnValue:
    challenge = captcha.new_challenge()
    db.session.commit()
    return jsonify({"captcha_id": challenge, "image": url_for("captcha.image", challenge_id=challenge, _external=True),
                    "audio": url_for("captcha.audio", challenge_id=challenge, _external=True)}), 201


@json_bp.post("/codes")
def request_code() -> ResponseReturnValue:
    data = _fields("company_account", "email", "captcha_id", "captcha")
    company, email = data["company_account"].strip().upper(), data["email"].strip()
    if not within_limits("api-password", f"{company}:{email}".casefold()):
        raise ApiError(429, "Too many requests. Please try again in an hour.", "IAM.0012")
    if not captcha.check(data["captcha_id"], data["captcha"]):
        audit.record(audit.EventTag.CAPTCHA_FAILED, None, purpose="api-password")
        db.session.commit()
        raise ApiError(400, "The captcha characters do not match.", "IAM.0003")
    send_code(company, email)
    db.session.commit()
    body: dict[str, Any] = {"message": "If this email belongs to a console user of this company account, "
                                       "a verification code valid for 60 seconds has been sent to it."}
    return jsonify(body), 202


@json_bp.post("")
def set_password() -> ResponseReturnValue:
    data = _fields("company_account", "email", "code", "password", "confirm")
    password_errors, code_errors = reset(data["company_account"], data["email"], data["password"], data["confirm"],
                                         data["code"])
    if password_errors or code_errors:
        raise ApiError(400, " ".join(password_errors or code_errors), "IAM.0003")
    return "", 204
