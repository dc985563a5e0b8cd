"""Error bodies of the IAM APIs: Keystone's ``error`` object and Huawei's top-level
``error_code``/``error_msg`` together, so keystoneauth1 and huaweicloudsdkcore both read
them (reference §1.6); and the API gateway's body for signature failures (§3.4)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def keystone_error(status: int, message: str, code: str) -> Response:
    response = jsonify(
        {
            "error": {"code": status, "message": message, "title": TITLES.get(status, "Error")},
            "error_code": code,
            "error_msg": message,
        }
    )
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Keystone uri="/v3"'
    return response


def gateway_error(message: str, code: str = "APIGW.0301", status: int = 401) -> Response:
    response = jsonify({"error_msg": message, "error_code": code, "request_id": ""})
    response.status_code = status
    return response


def json_body() -> Any:
    """The request's JSON, or None when it is missing, malformed or absurdly nested."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, "The request body is nested too deeply.", "IAM.0003") from None
