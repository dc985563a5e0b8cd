"""The console's small JSON API (``/v1``): callers authenticate with a Keystone token
(``X-Auth-Token``) or a SDK-HMAC-SHA256 signature, both checked by the IdP; the console
never sees a secret key. A call on ``/v1/<project_id>/…`` is allowed only in the caller's own
project and by its console roles (:func:`authorized`). Failures answer in the API gateway's
format (reference §3.4)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from sso_clients.rp import RpConfig

bp = Blueprint("console_api", __name__, url_prefix="/v1")


class GatewayError(Exception):
    def __init__(self, message: str, code: str = "APIGW.0301", status: int = 401) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


@bp.errorhandler(GatewayError)
def _gateway_error(error: GatewayError) -> ResponseReturnValue:
    return jsonify({"error_msg": error.message, "error_code": error.code, "request_id": ""}), error.status


def _idp(path: str) -> str:
    config: RpConfig = current_app.extensions["rp.config"]
    return config.issuer.rstrip("/") + path


def _by_signature() -> dict[str, Any]:
    config: RpConfig = current_app.extensions["rp.config"]
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    path, _, query = raw.partition("?")
    credentials = {
        "verb": request.method,
        "path": path,
        "query_string": query,
        # The host callers must have signed for: ours as published (CONSOLE_BASE_URL), never
        # the Host of this request, which is the caller's to choose. A request signed for
        # another service is refused by the IdP.
        "host": urlsplit(config.base_url).netloc,
        "headers": dict(request.headers),
        "body_hash": hashlib.sha256(request.get_data(cache=True)).hexdigest(),
    }
    answer = requests.post(
        _idp("/v3/ec2tokens"),
        json={"credentials": credentials},
        auth=(config.client_id, config.client_secret),
        timeout=10,
    )
    if answer.status_code != 200:
        message = answer.json().get("error", {}).get("message", "verify aksk signature fail")
        raise GatewayError(message, status=401 if answer.status_code in (400, 401) else answer.status_code)
    identity: dict[str, Any] = answer.json()["token"]
    return identity


def _by_token(token: str) -> dict[str, Any]:
    answer = requests.get(
        _idp("/v3/auth/tokens") + "?nocatalog", headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=10
    )
    if answer.status_code != 200:
        raise GatewayError("Incorrect IAM authentication information: the token is invalid or expired", "APIGW.0307")
    identity: dict[str, Any] = answer.json()["token"]
    return identity


def caller() -> dict[str, Any]:
    if request.headers.get("Authorization", "").startswith("SDK-"):
        token = _by_signature()
    elif request.headers.get("X-Auth-Token"):
        token = _by_token(request.headers["X-Auth-Token"])
    else:
        raise GatewayError("Incorrect IAM authentication information: no token and no signature", "APIGW.0101")
    return {
        "user": {"id": token["user"]["id"], "name": token["user"]["name"]},
        "company_account": token["user"]["domain"]["name"],
        "console_roles": [r["name"] for r in token["roles"]],
        "methods": token["methods"],
        "project": (token.get("project") or {}).get("id"),
    }


@bp.get("/whoami")
def whoami() -> ResponseReturnValue:
    return jsonify(caller())


#: Console roles that change resources (seed guide: admin manages resources and user
#: groups, power_user only resources); guest and a contract's custom groups read only.
WRITE_ROLES = frozenset({"admin", "power_user"})


def authorized(project_id: str | None, write: bool) -> dict[str, Any]:
    """The caller, if allowed here: the path's project must be the one its token (or its
    signed ``X-Project-Id``) is scoped to, which the IdP gives only within the caller's
    company account; reading needs a console role, writing admin or power_user."""
    who = caller()
    if who["project"] is None:
        raise GatewayError("The token is not scoped to a project (scope it, or sign X-Project-Id)", "APIGW.0302", 403)
    if project_id is not None and project_id != who["project"]:
        raise GatewayError("The caller has no access to this project", "APIGW.0302", 403)
    roles = set(who["console_roles"])
    if not roles or (write and not roles & WRITE_ROLES):
        raise GatewayError("The caller's console roles do not allow this operation", "APIGW.0302", 403)
    return who


@bp.route("/servers", methods=["GET", "POST"])
@bp.route("/<project_id>/servers", methods=["GET", "POST"])
def servers(project_id: str | None = None) -> ResponseReturnValue:
    who = authorized(project_id, write=request.method == "POST")
    if request.method == "POST":
        data = request.get_json(silent=True) or {}
        server = data.get("server") if isinstance(data, dict) else None
        name = server.get("name") if isinstance(server, dict) else None
        return jsonify({"server": {"name": name, "owner": who["user"]["name"], "project_id": who["project"]}}), 202
    return jsonify({"servers": [], "company_account": who["company_account"], "project_id": who["project"]})
