"""Access keys (reference §2): ``/v3.0/OS-CREDENTIAL/credentials`` and ``securitytokens``.

A console user has at most ``api.max_access_keys`` permanent keys, inactive ones included
(``400 akSkNumExceed`` beyond). The SK is returned once, at creation, and stored only
encrypted (``SecretBox``). Reading works with a token or a signed request; creating,
changing and deleting keys needs a token obtained with the API password: a key cannot
mint or manage keys (Keystone's delegation guard).
"""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import func
from sqlalchemy import select

from idp import audit
from idp import clock
from idp.api import tokens
from idp.api.errors import ApiError
from idp.api.errors import keystone_error
from idp.api.models import AccessKey
from idp.api.models import ConsoleUser
from idp.extensions import csrf
from idp.extensions import db
from idp.security.tokens import new_token
from idp.security.tokens import token_hash

bp = Blueprint("credentials", __name__, url_prefix="/v3.0/OS-CREDENTIAL")
csrf.exempt(bp)

AK_ALPHABET = string.ascii_uppercase + string.digits
SK_ALPHABET = string.ascii_letters + string.digits
NOT_FOUND = "Could not find credential."


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _manager() -> tokens.Caller:
    caller = tokens.caller(request)
    if not caller.may_manage_credentials:
        raise ApiError(403, "Managing access keys needs a token obtained with the API password.", "IAM.0002")
    return caller


def describe(key: AccessKey, *, last_use: bool = False) -> dict[str, Any]:
    data = {"access": key.access, "status": key.status, "user_id": key.console_user.user_id,
            "create_time": tokens.iso(key.created_at), "description": key.description}
    if last_use:
        data["last_use_time"] = tokens.iso(key.last_use_at or key.created_at)
    return data


def permanent_keys(user: ConsoleUser) -> list[AccessKey]:
    return list(db.session.scalars(select(AccessKey).where(
        AccessKey.console_user_id == user.id, AccessKey.expires_at.is_(None)).order_by(AccessKey.created_at)))


def create_key(user: ConsoleUser, description: str) -> tuple[AccessKey, str]:
    """A new permanent key for ``user`` (the limit counts inactive keys); returns the SK once."""
    limit = current_app.config["IDP_SETTINGS"].api.max_access_keys
    # Lock the user's row so two concurrent creations cannot both pass the count.
    db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.id == user.id).with_for_update())
    count = db.session.scalar(select(func.count()).select_from(AccessKey).where(
        AccessKey.console_user_id == user.id, AccessKey.expires_at.is_(None)))
    if count >= limit:
        raise ApiError(400, "akSkNumExceed", "IAM.1109")
    secret = _random(SK_ALPHABET, 40)
    key = AccessKey(access=_random(AK_ALPHABET, 20), console_user_id=user.id,
                    secret_encrypted=current_app.extensions["idp.secret_box"].encrypt(secret),
                    status="active", description=description, created_at=clock.now())
    db.session.add(key)
    db.session.flush()
    audit.record(audit.EventTag.ACCESS_KEY_CREATED, user.membership.account_id, access=key.access)
    return key, secret


def _own_key(user: ConsoleUser, access: str) -> AccessKey:
    key = db.session.get(AccessKey, access)
    if key is None or key.console_user_id != user.id or key.temporary:
        raise ApiError(404, NOT_FOUND, "IAM.1107")
    return key


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise ApiError(400, "The description must be text of at most 255 characters.", "IAM.0003")
    return value


def _credential_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("credential"), dict):
        raise ApiError(400, "Expecting to find credential in the request body.", "IAM.0003")
    return data["credential"]


@bp.post("/credentials")
def create() -> ResponseReturnValue:
    caller = _manager()
    body = _credential_body()
    if body.get("user_id") != caller.user.user_id:
        raise ApiError(403, "You may create access keys only for yourself.", "IAM.0002")
    key, secret = create_key(caller.user, _description(body.get("description")))
    db.session.commit()
    response = jsonify({"credential": {**describe(key), "secret": secret}})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/credentials")
def list_keys() -> ResponseReturnValue:
    caller = tokens.caller(request)
    wanted = request.args.get("user_id")
    if wanted not in (None, caller.user.user_id):
        raise ApiError(403, "You may list only your own access keys.", "IAM.0002")
    return jsonify({"credentials": [describe(k) for k in permanent_keys(caller.user)]})


@bp.get("/credentials/<access>")
def show(access: str) -> ResponseReturnValue:
    caller = tokens.caller(request)
    return jsonify({"credential": describe(_own_key(caller.user, access), last_use=True)})


@bp.put("/credentials/<access>")
def update(access: str) -> ResponseReturnValue:
    caller = _manager()
    key = _own_key(caller.user, access)
    body = _credential_body()
    if "status" not in body and "description" not in body:
        raise ApiError(400, "Give a status or a description.", "IAM.0003")
    if "status" in body:
        if body["status"] not in {"active", "inactive"}:
            raise ApiError(400, "The status must be active or inactive.", "IAM.0003")
        key.status = body["status"]
    if "description" in body:
        key.description = _description(body["description"])
    audit.record(audit.EventTag.ACCESS_KEY_UPDATED, caller.user.membership.account_id, access=key.access,
                 status=key.status)
    db.session.commit()
    return jsonify({"credential": describe(key)})


@bp.delete("/credentials/<access>")
def delete(access: str) -> ResponseReturnValue:
    caller = _manager()
    key = _own_key(caller.user, access)
    db.session.delete(key)
    audit.record(audit.EventTag.ACCESS_KEY_DELETED, caller.user.membership.account_id, access=access)
    db.session.commit()
    return "", 204


@bp.post("/securitytokens")
def security_token() -> ResponseReturnValue:
    """A temporary AK/SK and its security token, for 900 to 86,400 seconds (default 900)."""
    caller = _manager()
    data = request.get_json(silent=True)
    identity = (data or {}).get("auth", {}).get("identity", {}) if isinstance(data, dict) else {}
    if not isinstance(identity, dict) or identity.get("methods") != ["token"]:
        raise ApiError(400, "Expecting auth.identity.methods = [\"token\"].", "IAM.0003")
    spec = identity.get("token") if isinstance(identity.get("token"), dict) else {}
    duration = spec.get("duration_seconds", 900)
    if not isinstance(duration, int) or isinstance(duration, bool) or not 900 <= duration <= 86_400:
        raise ApiError(400, "duration_seconds must be between 900 and 86400.", "IAM.0003")
    secret = _random(SK_ALPHABET, 40)
    raw_token = new_token()
    expires = clock.now() + timedelta(seconds=duration)
    key = AccessKey(access=_random(AK_ALPHABET, 20), console_user_id=caller.user.id,
                    secret_encrypted=current_app.extensions["idp.secret_box"].encrypt(secret), status="active",
                    description="temporary", created_at=clock.now(), expires_at=expires,
                    security_token_hash=token_hash(raw_token))
    db.session.add(key)
    db.session.commit()
    response = jsonify({"credential": {"access": key.access, "secret": secret, "expires_at": tokens.iso(expires),
                                       "securitytoken": raw_token}})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
