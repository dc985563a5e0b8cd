"""API password reset (guide §6.1): its web pages (FR/EN), on the stored flow of
``api_password_flow`` (which the JSON API in ``api_password_json`` shares).

    /api-password      step 1: company account + email + captcha ──► step 2's page, the
                       same whoever they name (a flow id in a hidden field); nothing mailed
    /api-password/new  step 2: new API password twice ──*Get code*──► a 60-second code
                       (only to a console user the flow names) ──code, *Next*──► the API
                       password set, the user's Keystone tokens end, a confirmation email

Step 2's page follows the flow: first the two passwords and *Get code*; once a code was
asked for, the code field and *Next* first, so that Enter in the code field submits the
code; once the code was accepted, the passwords alone. A password is never sent back in a
page: ``static/js/get-code.js`` asks for the code without leaving the page, so what was
typed stays in the browser (without JavaScript, the passwords are typed again).
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
from wtforms.validators import Optional
from wtforms.validators import Regexp

from idp.security import canonical
from idp.security.canonical import COMPANY_ACCOUNT_RE
from idp.security.new_password import policy_errors
from idp.selfservice import api_password_flow as reset_flow
from idp.selfservice.forms import PASSWORDS_DIFFER
from idp.selfservice.forms import REQUIRED
from idp.selfservice.forms import CaptchaForm
from idp.selfservice.limits import captcha_request
from idp.selfservice.limits import render_with_captcha
from idp.selfservice.limits import steady

bp = Blueprint("api_password", __name__)

COMPANY_LABEL = _l("Company account (domain name)")
BAD_COMPANY = _l("A company account looks like OCB0000124.")
CODE_SENT = _l(
    "If the company account and the email match a console user, a verification code has just been sent. "
    "You have 60 seconds to enter it."
)
API_PASSWORD_SET = _l("Your API password has been set. Your previous API tokens no longer work.")
STEP2 = "selfservice/api-password-new.html"


class ConfirmAccountForm(CaptchaForm):
    company_account = StringField(
        COMPANY_LABEL,
        validators=[DataRequired(REQUIRED), Regexp(rf"^\s*{COMPANY_ACCOUNT_RE.pattern}\s*$", message=BAD_COMPANY)],
    )
    email = StringField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])


class ResetApiPasswordForm(FlaskForm):
    flow = HiddenField(validators=[DataRequired(), Length(max=128)])
    company_account = HiddenField(validators=[Optional(), Length(max=16)])  # shown, never trusted
    password = PasswordField(_l("New API password"), validators=[DataRequired(REQUIRED), Length(max=4096)])
    confirm = PasswordField(_l("Confirm API password"), validators=[DataRequired(REQUIRED), Length(max=4096)])
    code = StringField(_l("Email verification code"), validators=[Optional(), Length(max=16)])


def _step2(form: ResetApiPasswordForm, stage: str, status: int = 200, **context: object) -> ResponseReturnValue:
    """Step 2's page at ``stage``: ``password`` (no code asked for yet), ``code``, ``verified``."""
    return render_template(STEP2, form=form, stage=stage, **context), status


@bp.route("/api-password", methods=["GET", "POST"])
def confirm_account() -> ResponseReturnValue:
    form = ConfirmAccountForm()
    if not form.is_submitted():
        form.company_account.data = (request.args.get("company_account") or "")[:10]
        return render_with_captcha("selfservice/api-password.html", form)
    company, email = canonical.company_account(form.company_account.data or ""), (form.email.data or "").strip()

    def step2(look_up: bool) -> dict[str, object]:
        started = reset_flow.start(company, email, look_up=look_up)
        next_form = ResetApiPasswordForm(formdata=None, flow=started.token, company_account=started.company_account)
        return {"form": next_form, "stage": "password"}

    return captcha_request(
        form,
        purpose=reset_flow.LIMIT_PURPOSE,
        target=reset_flow.limit_target(company, email),
        template="selfservice/api-password.html",
        sent_template=STEP2,
        act=lambda: step2(True),
        when_limited=lambda: step2(False),
    )


def _get_code(form: ResetApiPasswordForm) -> ResponseReturnValue:
    """The passwords first (the guide's order), checked by the rules that ignore the login;
    then the code, if the flow names someone. The same page either way."""
    password = form.password.data or ""
    errors = policy_errors(password, None)
    if errors:
        form.password.errors = errors
        return _step2(form, "password", 400)
    if password != (form.confirm.data or ""):
        form.confirm.errors = [str(PASSWORDS_DIFFER)]
        return _step2(form, "password", 400)
    try:
        reset_flow.request_code(form.flow.data or "")
    except reset_flow.TooManyCodes as exc:
        return _step2(form, "code", exc.status, error=str(exc.message))
    return _step2(form, "code", notice=str(CODE_SENT))


@bp.route("/api-password/new", methods=["POST"])
@steady()  # Get code and Next answer no sooner than the floor, whoever the flow names
def reset_api_password() -> ResponseReturnValue:
    form = ResetApiPasswordForm()
    action = request.form.get("action")
    if not form.validate():
        return _step2(form, "password" if action == "code" else "code", 400)
    try:
        if action == "code":
            return _get_code(form)
        outcome = reset_flow.submit(
            form.flow.data or "", form.password.data or "", form.confirm.data or "", form.code.data or ""
        )
    except reset_flow.TooManyRequests as exc:
        return _step2(form, "code", exc.status, error=str(exc.message))
    except reset_flow.FlowExpired as exc:
        return render_template("selfservice/api-password-expired.html", message=str(exc.message)), exc.status
    if outcome.done:
        return render_template("selfservice/api-password-done.html", message=str(API_PASSWORD_SET))
    form.password.errors = outcome.password_errors
    form.code.errors = outcome.code_errors
    if outcome.code_errors:
        form.code.data = ""
    return _step2(form, "verified" if outcome.verified else "code", 400)
