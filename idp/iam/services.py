"""What the cloud's services and SDKs ask the IAM besides credentials: the check of a
signed request a service received (``/v3/ec2tokens``), and the two discovery calls
huaweicloudsdkcore makes on its own (reference §2.8).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from idp import clock
from idp.directory import console_users
from idp.extensions import csrf
from idp.iam import signing
from idp.iam import verification
from idp.iam.callers import caller
from idp.iam.signing import SignatureError
from idp.iam.signing import SignedRequest
from idp.keystone import tokens
from idp.keystone.errors import ApiError
from idp.keystone.errors import http_error
from idp.keystone.errors import json_body
from idp.keystone.errors import keystone_error
from idp.oidc.clients import authenticate_service

bp = Blueprint("iam_services", __name__)
csrf.exempt(bp)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return keystone_error(error.status, error.message, error.code)


bp.register_error_handler(HTTPException, http_error)  # the input guard's 400s, 413s: our shape


@bp.get("/v3/projects")
def projects() -> ResponseReturnValue:
    """huaweicloudsdkcore's project-id lookup: ``?name=<region>`` gives exactly one project."""
    contract = caller(request).user.contract_id
    region = current_app.config["IDP_SETTINGS"].api.region
    name = request.args.get("name")
    found = (
        []
        if name not in (None, region)
        else [
            {
                "id": console_users.project_id(contract),
                "name": region,
                "domain_id": console_users.domain_id(contract),
                "enabled": True,
                "is_domain": False,
                "parent_id": console_users.domain_id(contract),
                "description": "",
            }
        ]
    )
    return jsonify({"projects": found, "links": {"self": request.base_url}})


@bp.get("/v3/auth/domains")
def domains() -> ResponseReturnValue:
    """huaweicloudsdkcore's domain-id lookup for global services."""
    contract = caller(request).user.contract_id
    return jsonify(
        {
            "domains": [{"id": console_users.domain_id(contract), "name": contract, "enabled": True}],
            "links": {"self": request.base_url},
        }
    )


def _dict(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ApiError(400, f"Expecting to find {where} in the request body.", "IAM.0003")
    return value


@bp.post("/v3/ec2tokens")
def validate_signature() -> ResponseReturnValue:
    """Check a SDK-HMAC-SHA256 request a service received (reference §4.2); the SK never
    leaves the IdP. Answers the caller's token body (methods ``["aksk"]``), minting no token.

    ``credentials.host`` is the host the calling service serves: the request must have been
    signed for it (a request signed for another service is refused). ``X-Project-Id``
    scopes the answer only when it is signed; an unsigned one is ignored."""
    if authenticate_service(request.headers) is None:
        raise ApiError(401, "This endpoint is for the cloud's own services.", "IAM.0001")
    credentials = _dict(_dict(json_body(), "credentials").get("credentials"), "credentials")
    fields = {name: credentials.get(name) for name in ("verb", "path", "query_string", "host", "body_hash")}
    headers = credentials.get("headers")
    if (
        not all(isinstance(v, str) for v in fields.values())
        or not fields["host"]
        or not isinstance(headers, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise ApiError(400, "credentials needs verb, path, query_string, host, headers and body_hash.", "IAM.0003")
    signed = SignedRequest(
        str(fields["verb"]), str(fields["path"]), str(fields["query_string"]), headers, str(fields["body_hash"])
    )
    try:
        # ``host``: the service's own host, which the request must have been signed for.
        key = verification.verify(signed, expected_host=str(fields["host"]))
        project = signing.signed_value(signed, "X-Project-Id")
    except SignatureError as exc:
        raise ApiError(401, f"Incorrect IAM authentication information: {exc}", "APIGW.0301") from None
    user = key.console_user
    if project is not None and project != console_users.project_id(user.contract_id):
        raise ApiError(403, "The access key's user has no role in this project.", "IAM.0002")
    now = clock.now()
    region = current_app.config["IDP_SETTINGS"].api.region
    return jsonify(
        tokens.body(
            user,
            methods=["aksk"],
            project_name=region if project else None,
            issued_at=now,
            expires_at=key.expires_at or now,
            include_catalog=False,
        )
    )
