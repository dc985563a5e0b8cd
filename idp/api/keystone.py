"""Keystone v3 API login (reference §1): ``/v3/auth/tokens``, version documents, and the
two discovery calls huaweicloudsdkcore makes on its own (§2.8).

    POST /v3/auth/tokens  password method: user name + domain (the company account), or user id;
                          scope project (id, or name with or without domain) / domain / none
                          ─► 201, X-Subject-Token, token body (catalog unless ?nocatalog)
    GET|HEAD /v3/auth/tokens   X-Auth-Token + X-Subject-Token ─► 200 (the subject's body)
    DELETE /v3/auth/tokens     ─► 204, the subject token is revoked

The API password is checked like a web password: argon2id through the bounded pool, one
verification whatever the user (unknown, no API password, wrong password), throttled per
user name and per address, with the same answer for every failure.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from idp import audit
from idp.api import console_users
from idp.api import tokens
from idp.api.errors import ApiError
from idp.api.errors import keystone_error
from idp.api.models import ConsoleUser
from idp.directory.models import Contract
from idp.extensions import csrf
from idp.extensions import db
from idp.security.passwords import PasswordHasher
from idp.security.throttle import LoginThrottle

bp = Blueprint("keystone", __name__)
csrf.exempt(bp)

WRONG = "The username or password is wrong."
MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


def version_document() -> dict[str, Any]:
    issuer = current_app.config["IDP_SETTINGS"].server.issuer.rstrip("/")
    return {"id": "v3.0", "status": "stable", "updated": "2013-03-06T00:00:00Z",
            "links": [{"rel": "self", "href": issuer + "/v3/"}], "media-types": MEDIA}


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


def _domain_contract(domain: dict[str, Any]) -> str | None:
    """The company account a ``domain`` object names (by name, or by its derived id)."""
    if isinstance(domain.get("name"), str):
        return domain["name"].strip().upper()
    if isinstance(domain.get("id"), str):
        for contract_id in db.session.scalars(select(Contract.id)):
            if console_users.domain_id(contract_id) == domain["id"]:
                return contract_id
    return None


def _authenticate(user_spec: dict[str, Any]) -> ConsoleUser:
    password = user_spec.get("password")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "Expecting to find password in the request body.", "IAM.0003")
    if isinstance(user_spec.get("id"), str):
        user = console_users.find(None, user_id=user_spec["id"])
        subject = "id:" + user_spec["id"]
    else:
        name = user_spec.get("name")
        domain = _dict(user_spec.get("domain"), "user domain")
        if not isinstance(name, str):
            raise ApiError(400, "Expecting to find user name in the request body.", "IAM.0003")
        company = _domain_contract(domain)
        user = console_users.find(company, name=name) if company else None
        subject = f"{company}:{name}"
    hasher: PasswordHasher = current_app.extensions["idp.hasher"]
    throttle: LoginThrottle = current_app.extensions["idp.throttle"]
    key = "api:" + subject.strip().casefold()
    state = throttle.check(key, request.remote_addr)
    if state.locked_until is not None:
        raise ApiError(401, "The account is locked. Please try again later.", "IAM.0061")
    stored = user.api_password_hash if user is not None else None
    too_long = len(password) > current_app.config["IDP_SETTINGS"].passwords.max_length
    if too_long or not hasher.verify(stored, password):
        throttle.fail(key, request.remote_addr)
        audit.record(audit.EventTag.API_LOGIN_FAILURE, user.membership.account_id if user else None,
                     subject=audit.subject_hash(key))
        db.session.commit()
        raise ApiError(401, WRONG, "IAM.0062")
    assert user is not None
    if state.login_has_failures:
        throttle.succeed(key)
    return user


def _scope(scope: Any, user: ConsoleUser) -> str | None:
    """The project name of a project scope, or None for a domain scope; refuse others."""
    contract = user.membership.contract_id
    region = current_app.config["IDP_SETTINGS"].api.region
    if scope is None or scope == "unscoped":
        return None  # Huawei: no scope means the user's domain
    scope = _dict(scope, "scope")
    if "project" in scope:
        project = _dict(scope["project"], "project")
        if "domain" in project and _domain_contract(_dict(project["domain"], "project domain")) != contract:
            raise ApiError(401, "The project is not in your domain.", "IAM.0002")
        if project.get("id") == console_users.project_id(contract) or project.get("name") == region:
            return region
        raise ApiError(401, "You are not authorized for this project.", "IAM.0002")
    if "domain" in scope:
        if _domain_contract(_dict(scope["domain"], "domain")) == contract:
            return None
        raise ApiError(401, "You are not authorized for this domain.", "IAM.0002")
    raise ApiError(400, "The scope must name a project or a domain.", "IAM.0003")


def _wants_catalog() -> bool:
    return "nocatalog" not in request.args


@bp.post("/v3/auth/tokens")
def create_token() -> ResponseReturnValue:
    data = _dict(request.get_json(silent=True), "auth")
    auth = _dict(data.get("auth"), "auth")
    identity = _dict(auth.get("identity"), "identity")
    methods = identity.get("methods")
    if methods != ["password"]:
        raise ApiError(401, "Only the password method is supported.", "IAM.0001")
    user_spec = _dict(_dict(identity.get("password"), "password").get("user"), "user")
    user = _authenticate(user_spec)
    project = _scope(auth.get("scope"), user)
    raw, token = tokens.issue(user, ["password"], project)
    audit.record(audit.EventTag.API_LOGIN_SUCCESS, user.membership.account_id, contract=user.membership.contract_id)
    db.session.commit()
    response = jsonify(tokens.token_body(token, _wants_catalog()))
    response.status_code = 201
    response.headers["X-Subject-Token"] = raw
    response.headers["Cache-Control"] = "no-store"
    return response


def _subject() -> tokens.ApiToken:
    caller = tokens.find(request.headers.get("X-Auth-Token"))
    if caller is None:
        raise ApiError(401, "The request you have made requires authentication.", "IAM.0001")
    allow_expired = request.method == "GET" and request.args.get("allow_expired") in {"1", "true", "True"}
    subject = tokens.find(request.headers.get("X-Subject-Token"), allow_expired=allow_expired or request.method == "DELETE")
    if subject is None:
        raise ApiError(404, "X-Subject-Token is invalid in the request.", "IAM.0009")
    same_user = subject.console_user_id == caller.console_user_id
    admin_of_domain = (subject.console_user.membership.contract_id == caller.console_user.membership.contract_id
                       and "admin" in caller.console_user.membership.console_role_names)
    if not (same_user or admin_of_domain):
        raise ApiError(403, "You are not authorized to check this token.", "IAM.0002")
    return subject


@bp.route("/v3/auth/tokens", methods=["GET", "HEAD"])
def check_token() -> ResponseReturnValue:
    subject = _subject()
    response = jsonify(tokens.token_body(subject, _wants_catalog()))
    response.headers["X-Subject-Token"] = request.headers["X-Subject-Token"]
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/v3/auth/tokens")
def delete_token() -> ResponseReturnValue:
    subject = _subject()
    tokens.revoke(subject)
    db.session.commit()
    return "", 204


@bp.get("/v3/projects")
def projects() -> ResponseReturnValue:
    """huaweicloudsdkcore's project-id lookup: ``?name=<region>`` gives exactly one project."""
    caller = tokens.caller(request)
    contract = caller.user.membership.contract_id
    region = current_app.config["IDP_SETTINGS"].api.region
    name = request.args.get("name")
    found = [] if name not in (None, region) else [{
        "id": console_users.project_id(contract), "name": region, "domain_id": console_users.domain_id(contract),
        "enabled": True, "is_domain": False, "parent_id": console_users.domain_id(contract), "description": ""}]
    return jsonify({"projects": found, "links": {"self": request.base_url}})


@bp.get("/v3/auth/domains")
def domains() -> ResponseReturnValue:
    """huaweicloudsdkcore's domain-id lookup for global services."""
    caller = tokens.caller(request)
    contract = caller.user.membership.contract_id
    return jsonify({"domains": [{"id": console_users.domain_id(contract), "name": contract, "enabled": True}],
                    "links": {"self": request.base_url}})


def _service_client() -> None:
    """Signature checks are for our own services: a first-party client's Basic credentials."""
    from authlib.oauth2.rfc6749.util import extract_basic_authorization

    from idp.oidc.clients import check_secret
    from idp.oidc.server import query_client

    client_id, secret = extract_basic_authorization(request.headers)
    client = query_client(client_id) if client_id else None
    if client is None or not client.first_party or not check_secret(client, secret or ""):
        raise ApiError(401, "This endpoint is for the cloud's own services.", "IAM.0001")


@bp.post("/v3/ec2tokens")
def validate_signature() -> ResponseReturnValue:
    """Check a SDK-HMAC-SHA256 request a service received (reference §4.2); the SK never
    leaves the IdP. Answers the caller's token body (methods ``["aksk"]``), minting no token."""
    from datetime import datetime

    from idp import clock
    from idp.api import verification
    from idp.api.signing import SignatureError
    from idp.api.signing import SignedRequest

    _service_client()
    credentials = _dict(_dict(request.get_json(silent=True), "credentials").get("credentials"), "credentials")
    fields = {name: credentials.get(name) for name in ("verb", "path", "query_string", "body_hash")}
    headers = credentials.get("headers")
    if (not all(isinstance(v, str) for v in fields.values()) or not isinstance(headers, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
        raise ApiError(400, "credentials needs verb, path, query_string, headers and body_hash.", "IAM.0003")
    signed = SignedRequest(fields["verb"], fields["path"], fields["query_string"], headers, fields["body_hash"])
    try:
        key = verification.verify(signed)
    except SignatureError as exc:
        raise ApiError(401, f"Incorrect IAM authentication information: {exc}", "APIGW.0301") from None
    user = key.console_user
    project = signed.header("X-Project-Id")
    contract = user.membership.contract_id
    if project is not None and project != console_users.project_id(contract):
        raise ApiError(403, "The access key's user has no role in this project.", "IAM.0002")
    now: datetime = clock.now()
    region = current_app.config["IDP_SETTINGS"].api.region
    return jsonify(tokens.body(user, methods=["aksk"], project_name=region if project else None, issued_at=now,
                               expires_at=key.expires_at or now, include_catalog=False))
