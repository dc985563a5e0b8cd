"""The IAM credentials API (reference §2): ``/v3.0/OS-CREDENTIAL/credentials`` and
``securitytokens``.

Reading works with a token or a signed request; creating, changing and deleting keys
needs a token obtained with the API password: a key cannot mint or manage keys
(Keystone's delegation guard).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from idp.extensions import csrf
from idp.extensions import db
from idp.iam import access_keys
from idp.iam.callers import Caller
from idp.iam.callers import caller
from idp.iam.models import AccessKey
from idp.keystone.errors import ApiError
from idp.keystone.errors import http_error
from idp.keystone.errors import json_body
from idp.keystone.errors import keystone_error
from idp.keystone.tokens import iso

bp = Blueprint("credentials", __name__, url_prefix="/v3.0/OS-CREDENTIAL")
csrf.exempt(bp)

NOT_FOUND = "Could not find credential."


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


bp.register_error_handler(HTTPException, http_error)  # the input guard's 400s, 413s: our shape


def _manager() -> Caller:
    found = caller(request)
    if not found.may_manage_credentials:
        raise ApiError(403, "Managing access keys needs a token obtained with the API password.", "IAM.0002")
    return found


def _own_key(found: Caller, access: str) -> AccessKey:
    key = access_keys.own_key(found.user, access)
    if key is None:
        raise ApiError(404, NOT_FOUND, "IAM.1107")
    return key


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise ApiError(400, "The description must be text of at most 255 characters.", "IAM.0003")
    return value


def _credential_body() -> dict[str, Any]:
    data = json_body()
    if not isinstance(data, dict) or not isinstance(data.get("credential"), dict):
        raise ApiError(400, "Expecting to find credential in the request body.", "IAM.0003")
    credential: dict[str, Any] = data["credential"]
    return credential


def _created(body: dict[str, Any]) -> Response:
    response = jsonify({"credential": body})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/credentials")
def create() -> ResponseReturnValue:
    found = _manager()
    body = _credential_body()
    if body.get("user_id") != found.user.user_id:
        raise ApiError(403, "You may create access keys only for yourself.", "IAM.0002")
    description = _description(body.get("description"))
    try:
        key, secret = access_keys.create(found.user, description)
    except access_keys.TooManyKeys:
        raise ApiError(400, "akSkNumExceed", "IAM.1109") from None
    db.session.commit()
    return _created({**access_keys.describe(key), "secret": secret})


@bp.get("/credentials")
def list_keys() -> ResponseReturnValue:
    found = caller(request)
    wanted = request.args.get("user_id")
    if wanted not in (None, found.user.user_id):
        raise ApiError(403, "You may list only your own access keys.", "IAM.0002")
    return jsonify({"credentials": [access_keys.describe(k) for k in access_keys.permanent_keys(found.user)]})


@bp.get("/credentials/<access>")
def show(access: str) -> ResponseReturnValue:
    found = caller(request)
    return jsonify({"credential": access_keys.describe(_own_key(found, access), last_use=True)})


@bp.put("/credentials/<access>")
def update(access: str) -> ResponseReturnValue:
    found = _manager()
    key = _own_key(found, access)
    body = _credential_body()
    if "status" not in body and "description" not in body:
        raise ApiError(400, "Give a status or a description.", "IAM.0003")
    if "status" in body and body["status"] not in {"active", "inactive"}:
        raise ApiError(400, "The status must be active or inactive.", "IAM.0003")
    if "description" in body:
        key.description = _description(body["description"])
    access_keys.set_status(found.user, key, body.get("status", key.status))
    db.session.commit()
    return jsonify({"credential": access_keys.describe(key)})


@bp.delete("/credentials/<access>")
def delete(access: str) -> ResponseReturnValue:
    found = _manager()
    access_keys.delete(found.user, _own_key(found, access))
    db.session.commit()
    return "", 204


@bp.post("/securitytokens")
def security_token() -> ResponseReturnValue:
    """A temporary AK/SK and its security token, for 900 to 86,400 seconds (default 900),
    refused like ``akSkNumExceed`` when ``api.max_temporary_keys`` are alive."""
    found = _manager()
    data = json_body()
    auth = data.get("auth") if isinstance(data, dict) else None
    identity = auth.get("identity") if isinstance(auth, dict) else None
    if not isinstance(identity, dict) or identity.get("methods") != ["token"]:
        raise ApiError(400, 'Expecting auth.identity.methods = ["token"].', "IAM.0003")
    token_spec = identity.get("token")
    spec = token_spec if isinstance(token_spec, dict) else {}
    duration = spec.get("duration_seconds", 900)
    if not isinstance(duration, int) or isinstance(duration, bool) or not 900 <= duration <= 86_400:
        raise ApiError(400, "duration_seconds must be between 900 and 86400.", "IAM.0003")
    try:
        key, secret, raw_token = access_keys.create_temporary(found.user, duration)
    except access_keys.TooManyTemporaryKeys as exc:
        raise ApiError(400, str(exc), "IAM.1109") from None
    db.session.commit()
    assert key.expires_at is not None
    return _created(
        {"access": key.access, "secret": secret, "expires_at": iso(key.expires_at), "securitytoken": raw_token}
    )
