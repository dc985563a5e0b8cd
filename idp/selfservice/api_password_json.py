"""API password reset as JSON, for scripts: the steps of ``api_password``, on the same
stored flow (``api_password_flow``); errors in the Keystone body.

    POST /v3.0/api-password/captchas              a challenge (201)
    POST /v3.0/api-password/flows                 step 1: company_account, email, captcha_id,
                                                  captcha ──► 201 {"flow": {"id", "expires_at"}},
                                                  the same whoever they name; nothing mailed
    POST /v3.0/api-password/flows/<id>/code       *Get code* ──► 202, the same body always
    POST /v3.0/api-password/flows/<id>            password, confirm, code ──► 204

An unknown, expired, used or exhausted flow id answers 404 ``flow_expired`` (ids are random:
that tells nothing about whom a flow names); over a per-address limit, 429. Steps 1 and 2
answer no sooner than ``selfservice.answer_floor_ms`` (``limits.steady``).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from idp.extensions import csrf
from idp.extensions import db
from idp.keystone.errors import ApiError
from idp.keystone.errors import http_error
from idp.keystone.errors import json_body
from idp.keystone.errors import keystone_error
from idp.security import captcha
from idp.security.canonical import COMPANY_ACCOUNT_RE
from idp.security.canonical import company_account
from idp.selfservice import api_password_flow as reset_flow
from idp.selfservice.limits import Gate
from idp.selfservice.limits import gate
from idp.selfservice.limits import steady

bp = Blueprint("api_password_json", __name__, url_prefix="/v3.0/api-password")
csrf.exempt(bp)

TOO_MANY = "Too many requests. Please try again in an hour."
CODE_SENT = (
    "If this flow's company account and email match a console user, "
    "a verification code valid for 60 seconds has been sent to that address."
)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


bp.register_error_handler(HTTPException, http_error)  # the input guard's 400s, 413s: our shape


@bp.errorhandler(reset_flow.FlowExpired)
def _flow_expired(_error: reset_flow.FlowExpired) -> Response:
    return keystone_error(404, "This API password reset flow has expired, is over or does not exist.", "flow_expired")


@bp.errorhandler(reset_flow.TooManyRequests)
def _too_many(_error: reset_flow.TooManyRequests) -> Response:
    return keystone_error(429, TOO_MANY, "IAM.0012")


@bp.errorhandler(captcha.TooManyChallenges)
def _too_many_captchas(_error: captcha.TooManyChallenges) -> Response:
    return keystone_error(429, "Too many captchas from this address. Please try again later.", "IAM.0012")


@bp.errorhandler(reset_flow.TooManyCodes)
def _too_many_codes(_error: reset_flow.TooManyCodes) -> Response:
    return keystone_error(429, "Too many codes have been requested in this flow. Start a new one.", "IAM.0012")


def _fields(required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    data = json_body()
    if (
        not isinstance(data, dict)
        or not all(isinstance(data.get(n), str) and data.get(n) for n in required)
        or not all(isinstance(data.get(n, ""), str) for n in optional)
    ):
        raise ApiError(400, "Expecting " + ", ".join(required) + " in the request body.", "IAM.0003")
    return {n: data.get(n, "")[:4096] for n in (*required, *optional)}


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


@bp.post("/flows")
@steady()  # every answer of the flow's steps no sooner than the floor, whoever it names
def start_flow() -> ResponseReturnValue:
    data = _fields(("company_account", "email", "captcha_id", "captcha"))
    company, email = company_account(data["company_account"]), data["email"].strip()
    if not COMPANY_ACCOUNT_RE.fullmatch(company) or len(email) > 254:
        raise ApiError(400, "A company account looks like OCB0000124; an email has at most 254 characters.", "IAM.0003")
    target = reset_flow.limit_target(company, email)
    passed = gate(reset_flow.LIMIT_PURPOSE, target, data["captcha_id"], data["captcha"])
    if passed is Gate.ADDRESS_LIMITED:
        raise ApiError(429, TOO_MANY, "IAM.0012")
    if passed is Gate.WRONG_CAPTCHA:
        raise ApiError(400, "The captcha characters do not match.", "IAM.0003")
    started = reset_flow.start(company, email, look_up=passed is Gate.PASSED)
    db.session.commit()
    return jsonify({"flow": {"id": started.token, "expires_at": started.expires_at.isoformat()}}), 201


@bp.post("/flows/<flow_id>/code")
@steady()
def request_code(flow_id: str) -> ResponseReturnValue:
    reset_flow.request_code(flow_id)
    return jsonify({"message": CODE_SENT}), 202


@bp.post("/flows/<flow_id>")
@steady()
def set_password(flow_id: str) -> ResponseReturnValue:
    data = _fields(("password", "confirm"), ("code",))
    outcome = reset_flow.submit(flow_id, data["password"], data["confirm"], data["code"])
    if not outcome.done:
        raise ApiError(400, " ".join(outcome.password_errors or outcome.code_errors), "IAM.0003")
    return "", 204
