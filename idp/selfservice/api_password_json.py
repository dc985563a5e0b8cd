"""API password reset as JSON, for scripts (the steps of ``api_password``).

``POST /v3.0/api-password/captchas`` (a challenge), ``POST /v3.0/api-password/codes``
(step 1, 202) and ``POST /v3.0/api-password`` (step 2, 204); errors in the Keystone body.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import url_for
from flask.typing import ResponseReturnValue

from idp.extensions import csrf
from idp.extensions import db
from idp.keystone.errors import ApiError
from idp.keystone.errors import json_body
from idp.keystone.errors import keystone_error
from idp.security import audit
from idp.security import canonical
from idp.security import captcha
from idp.selfservice.api_password import LIMIT_PURPOSE
from idp.selfservice.api_password import limit_target
from idp.selfservice.api_password import reset
from idp.selfservice.api_password import send_code
from idp.selfservice.limits import within_limits

bp = Blueprint("api_password_json", __name__, url_prefix="/v3.0/api-password")
csrf.exempt(bp)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


def _fields(*names: str) -> dict[str, str]:
    data = json_body()
    if not isinstance(data, dict) or not all(isinstance(data.get(n), str) and data.get(n) for n in names):
        raise ApiError(400, "Expecting " + ", ".join(names) + " in the request body.", "IAM.0003")
    return {n: data[n][:4096] for n in names}


@bp.post("/captchas")
def new_captcha() -> ResponseReturnValue:
    challenge = captcha.new_challenge()
    db.session.commit()
    return jsonify(
        {
            "captcha_id": challenge,
            "image": url_for("captcha.image", challenge_id=challenge, _external=True),
            "audio": url_for("captcha.audio", challenge_id=challenge, _external=True),
        }
    ), 201


@bp.post("/codes")
def request_code() -> ResponseReturnValue:
    data = _fields("company_account", "email", "captcha_id", "captcha")
    company, email = canonical.company_account(data["company_account"]), data["email"].strip()
    if not within_limits(LIMIT_PURPOSE, limit_target(company, email)):
        raise ApiError(429, "Too many requests. Please try again in an hour.", "IAM.0012")
    if not captcha.check(data["captcha_id"], data["captcha"]):
        audit.record(audit.EventTag.CAPTCHA_FAILED, None, purpose=LIMIT_PURPOSE)
        db.session.commit()
        raise ApiError(400, "The captcha characters do not match.", "IAM.0003")
    send_code(company, email)
    db.session.commit()
    return jsonify(
        {
            "message": "If this email belongs to a console user of this company account, "
            "a verification code valid for 60 seconds has been sent to it."
        }
    ), 202


@bp.post("")
def set_password() -> ResponseReturnValue:
    data = _fields("company_account", "email", "code", "password", "confirm")
    password_errors, code_errors = reset(
        data["company_account"], data["email"], data["password"], data["confirm"], data["code"]
    )
    if password_errors or code_errors:
        raise ApiError(400, " ".join(password_errors or code_errors), "IAM.0003")
    return "", 204
