"""Error bodies of the IAM APIs: Keystone's ``error`` object and Huawei's top-level
``error_code``/``error_msg`` together, so keystoneauth1 and huaweicloudsdkcore both read
them (reference §1.6); and the API gateway's body for signature failures (§3.4)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request
from werkzeug.exceptions import HTTPException

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
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


def http_error(error: HTTPException) -> Response:
    """A refusal raised outside the views (``security.input_guard``: NUL characters, a body
    nested too deeply or too large; a 404/405 of werkzeug's) in the API's own error shape:
    register it on each API blueprint next to its :class:`ApiError` handler."""
    status = error.code or 500
    return keystone_error(status, error.description or TITLES.get(status, "Error"), "IAM.0003")


def json_body() -> Any:
    """The request's JSON, or None when it is missing or malformed (a body nested too deeply
    never gets here: ``security.input_guard`` refused it before the view)."""
    return request.get_json(silent=True)
