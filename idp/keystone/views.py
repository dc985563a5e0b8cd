"""Keystone v3 API login (reference §1): ``/v3/auth/tokens`` and the version documents.

    POST /v3/auth/tokens  password method: user name + domain (the company account), or user id;
                          scope project (id, or name with or without domain) / domain / none
                          ─► 201, X-Subject-Token, token body (catalog unless ?nocatalog)
    GET|HEAD /v3/auth/tokens   X-Auth-Token + X-Subject-Token ─► 200 (the subject's body)
                          or a service (first-party client, HTTP Basic) + X-Subject-Token;
                          ?allow_expired=1 from a service: up to 48 h after the expiry
    DELETE /v3/auth/tokens     ─► 204, the subject token is revoked

The API password goes through the one password check (``security.credentials``): one
verification whatever the user (unknown, no API password, wrong password), the same answer
for every failure, and one throttle counter per console user, whichever spelling of the
name or the user id names it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from idp.directory import console_users
from idp.directory import credentials as directory_credentials
from idp.directory.console_users import ConsoleUser
from idp.directory.models import Contract
from idp.extensions import csrf
from idp.extensions import db
from idp.keystone import tokens
from idp.keystone.errors import ApiError
from idp.keystone.errors import http_error
from idp.keystone.errors import json_body
from idp.keystone.errors import keystone_error
from idp.keystone.models import ApiToken
from idp.oidc.clients import authenticate_service
from idp.security import audit
from idp.security import canonical
from idp.security.credentials import InvalidCredentials
from idp.security.throttle import Locked

bp = Blueprint("keystone", __name__)
csrf.exempt(bp)

WRONG = "The username or password is wrong."
MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


bp.register_error_handler(HTTPException, http_error)  # the input guard's 400s, 413s: our shape


def version_document() -> dict[str, Any]:
    issuer = current_app.config["IDP_SETTINGS"].server.issuer.rstrip("/")
    return {
        "id": "v3.0",
        "status": "stable",
        "updated": "2013-03-06T00:00:00Z",
        "links": [{"rel": "self", "href": issuer + "/v3/"}],
        "media-types": MEDIA,
    }


def versions() -> ResponseReturnValue:
    """``GET /`` for generic Keystone clients (the IdP's home page answers browsers)."""
    return jsonify({"versions": {"values": [version_document()]}}), 300


@bp.get("/v3")
@bp.get("/v3/")
def version() -> ResponseReturnValue:
    return jsonify({"version": version_document()})


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(400, f"Expecting to find {where} in the request body.", "IAM.0003")
    return value


def domain_contract(domain: dict[str, Any]) -> str | None:
    """The company account a ``domain`` object names (by name, or by its derived id)."""
    if isinstance(domain.get("name"), str):
        return canonical.company_account(domain["name"])
    if isinstance(domain.get("id"), str):
        for contract_id in db.session.scalars(select(Contract.id)):
            if console_users.domain_id(contract_id) == domain["id"]:
                return contract_id
    return None


def _authenticate(user_spec: dict[str, Any]) -> ConsoleUser:
    password = user_spec.get("password")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "Expecting to find password in the request body.", "IAM.0003")
    user_id, name = user_spec.get("id"), user_spec.get("name")
    if not isinstance(user_id, str) and not isinstance(name, str):
        raise ApiError(400, "Expecting to find user name in the request body.", "IAM.0003")
    try:
        if isinstance(user_id, str):
            return directory_credentials.authenticate_api_user_id(user_id, password)
        company = domain_contract(_dict(user_spec.get("domain"), "user domain")) or ""
        return directory_credentials.authenticate_api_name(company, str(name), password)
    except Locked:
        raise ApiError(401, "The account is locked. Please try again later.", "IAM.0061") from None
    except InvalidCredentials:
        raise ApiError(401, WRONG, "IAM.0062") from None


def _scope(scope: Any, user: ConsoleUser) -> str | None:
    """The project name of a project scope, or None for a domain scope; refuse others."""
    contract = user.contract_id
    region: str = current_app.config["IDP_SETTINGS"].api.region
    if scope is None or scope == "unscoped":
        return None  # Huawei: no scope means the user's domain
    scope = _dict(scope, "scope")
    if "project" in scope:
        project = _dict(scope["project"], "project")
        if "domain" in project and domain_contract(_dict(project["domain"], "project domain")) != contract:
            raise ApiError(401, "The project is not in your domain.", "IAM.0002")
        if project.get("id") == console_users.project_id(contract) or project.get("name") == region:
            return region
        raise ApiError(401, "You are not authorized for this project.", "IAM.0002")
    if "domain" in scope:
        if domain_contract(_dict(scope["domain"], "domain")) == contract:
            return None
        raise ApiError(401, "You are not authorized for this domain.", "IAM.0002")
    raise ApiError(400, "The scope must name a project or a domain.", "IAM.0003")


def _wants_catalog() -> bool:
    return "nocatalog" not in request.args


@bp.post("/v3/auth/tokens")
def create_token() -> ResponseReturnValue:
    data = _dict(json_body(), "auth")
    auth = _dict(data.get("auth"), "auth")
    identity = _dict(auth.get("identity"), "identity")
    methods = identity.get("methods")
    if methods != ["password"]:
        raise ApiError(401, "Only the password method is supported.", "IAM.0001")
    user_spec = _dict(_dict(identity.get("password"), "password").get("user"), "user")
    user = _authenticate(user_spec)
    project = _scope(auth.get("scope"), user)
    raw, token = tokens.issue(user, ["password"], project)
    audit.record(audit.EventTag.API_LOGIN_SUCCESS, user.account.id, contract=user.contract_id)
    db.session.commit()
    response = jsonify(tokens.token_body(token, _wants_catalog()))
    response.status_code = 201
    response.headers["X-Subject-Token"] = raw
    response.headers["Cache-Control"] = "no-store"
    return response


def _expired_within(service: bool) -> timedelta | None:
    """How long after its expiry a subject token is still found: DELETE revokes whatever its
    age; ``allow_expired`` (GET, HEAD) is Keystone's, for services only (they check late a
    request that came with a then-valid token), within ``api.allow_expired_window_seconds``;
    anyone else's ``allow_expired`` is ignored, as if absent."""
    if request.method == "DELETE":
        return timedelta.max
    wanted = request.args.get("allow_expired") in {"1", "true", "True"}
    if service and wanted and request.method in {"GET", "HEAD"}:
        return timedelta(seconds=current_app.config["IDP_SETTINGS"].api.allow_expired_window_seconds)
    return None


def _subject_token() -> ApiToken:
    """The token ``X-Subject-Token`` names, if the caller may see it: a service (a first-party
    client's Basic credentials, as for ``/v3/ec2tokens``: Keystone's ``service`` role) any
    token; the holder of an ``X-Auth-Token`` its own, or, as the contract's console admin,
    its domain's."""
    service = authenticate_service(request.headers) is not None
    caller = None if service else tokens.find(request.headers.get("X-Auth-Token"))
    if not service and caller is None:
        raise ApiError(401, "The request you have made requires authentication.", "IAM.0001")
    subject = tokens.find(request.headers.get("X-Subject-Token"), expired_within=_expired_within(service))
    if subject is None:
        raise ApiError(404, "X-Subject-Token is invalid in the request.", "IAM.0009")
    if caller is None:
        return subject
    same_user = subject.console_user_id == caller.console_user_id
    admin_of_domain = (
        subject.console_user.contract_id == caller.console_user.contract_id
        and "admin" in caller.console_user.membership.console_role_names
    )
    if not (same_user or admin_of_domain):
        raise ApiError(403, "You are not authorized to check this token.", "IAM.0002")
    return subject


@bp.route("/v3/auth/tokens", methods=["GET", "HEAD"])
def check_token() -> ResponseReturnValue:
    subject = _subject_token()
    response = jsonify(tokens.token_body(subject, _wants_catalog()))
    response.headers["X-Subject-Token"] = request.headers["X-Subject-Token"]
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/v3/auth/tokens")
def delete_token() -> ResponseReturnValue:
    subject = _subject_token()
    tokens.revoke(subject)
    db.session.commit()
    return "", 204
