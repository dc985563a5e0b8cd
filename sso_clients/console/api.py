"""The console's small JSON API (``/v1``): callers authenticate with a Keystone token
(``X-Auth-Token``) or a SDK-HMAC-SHA256 signature, both checked by the IdP; the console
never sees a secret key. A call on ``/v1/<project_id>/…`` is allowed only in the caller's own
project and by its console roles (:func:`authorized`). Failures answer in the API gateway's
format (reference §3.4); an IdP that cannot be reached or answers nonsense is a 502, as a
gateway says of its back end.

Only what the signature covers goes to the IdP: the headers named in ``SignedHeaders``,
the ``Authorization`` header itself and a declared payload hash — never the caller's
cookies or anything else it sent along."""

from __future__ import annotations

import hashlib
import re
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

#: Besides the signed headers, what the IdP reads of a signed request.
ALSO_FORWARDED = frozenset({"authorization", "x-sdk-content-sha256"})
_SIGNED_HEADERS = re.compile(r"SignedHeaders=([A-Za-z0-9;-]{1,1024})")
IDP_TIMEOUT = 10


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


class IdpUnavailable(GatewayError):
    def __init__(self) -> None:
        super().__init__("The identity service is unavailable or answered unexpectedly", "APIGW.0502", 502)


def _ask_idp(method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The IdP's status and JSON object; anything else (no answer, not a JSON object) is
    our gateway's 502, never a 500."""
    try:
        answer = requests.request(method, _idp(path), timeout=IDP_TIMEOUT, allow_redirects=False, **kwargs)
        body = answer.json()
    except (requests.RequestException, ValueError):  # requests' JSONDecodeError is both
        raise IdpUnavailable() from None
    if not isinstance(body, dict):
        raise IdpUnavailable()
    return answer.status_code, body


def _token_of(body: dict[str, Any]) -> dict[str, Any]:
    token = body.get("token")
    if not isinstance(token, dict):
        raise IdpUnavailable()
    return token


def _signed_headers() -> dict[str, str]:
    """The request's headers that the signature covers, plus what the IdP needs besides."""
    found = _SIGNED_HEADERS.search(request.headers.get("Authorization", ""))
    names = set(found.group(1).lower().split(";")) if found else set()
    return {name: value for name, value in request.headers.items() if name.lower() in names | ALSO_FORWARDED}


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
        "headers": _signed_headers(),
        "body_hash": hashlib.sha256(request.get_data(cache=True)).hexdigest(),
    }
    status, body = _ask_idp(
        "POST", "/v3/ec2tokens", json={"credentials": credentials}, auth=(config.client_id, config.client_secret)
    )
    if status != 200:
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        if status >= 500:
            raise IdpUnavailable()
        raise GatewayError(str(message or "verify aksk signature fail"), status=401 if status in (400, 401) else status)
    return _token_of(body)


def _by_token(token: str) -> dict[str, Any]:
    status, body = _ask_idp(
        "GET", "/v3/auth/tokens?nocatalog", headers={"X-Auth-Token": token, "X-Subject-Token": token}
    )
    if status >= 500:
        raise IdpUnavailable()
    if status != 200:
        raise GatewayError("Incorrect IAM authentication information: the token is invalid or expired", "APIGW.0307")
    return _token_of(body)


def caller() -> dict[str, Any]:
    if request.headers.get("Authorization", "").startswith("SDK-"):
        token = _by_signature()
    elif request.headers.get("X-Auth-Token"):
        token = _by_token(request.headers["X-Auth-Token"])
    else:
        raise GatewayError("Incorrect IAM authentication information: no token and no signature", "APIGW.0101")
    try:
        return {
            "user": {"id": str(token["user"]["id"]), "name": str(token["user"]["name"])},
            "company_account": str(token["user"]["domain"]["name"]),
            "console_roles": [str(r["name"]) for r in token["roles"]],
            "methods": list(token["methods"]),
            "project": (token.get("project") or {}).get("id"),
        }
    except (KeyError, TypeError, AttributeError):  # not a Keystone token body
        raise IdpUnavailable() from None


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
