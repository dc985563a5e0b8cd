"""The management API's one error shape, in the caller's language:

    {"error": {"code": "<stable_code>", "message": "<translated>", "field": "<optional>"}}

``code`` is what programs test; ``message`` is for people, in the caller's account language
(``auth`` sets it once the token is known), else the best of ``Accept-Language``. Every
refusal goes through :class:`ApiError`; refusals raised by the directory (``IdpError``) and
by werkzeug (``HTTPException``: the input guard's 400/413, an unknown route, a wrong
method) are turned into it, so nothing under ``/api/v1/`` answers HTML.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import current_app
from flask import g
from flask import has_request_context
from flask import jsonify
from flask import request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from idp.errors import IdpError

LOCALES = ("fr", "en")
PREFIX = "/api/v1/"

GENERIC: dict[int, Any] = {
    400: _l("The request could not be understood."),
    401: _l("Sign in again: this access token is missing, expired or revoked."),
    403: _l("Your roles on this contract do not allow this action."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("This change conflicts with the current state."),
    413: _l("The request is too large."),
    422: _l("The request is invalid."),
    429: _l("Too many requests. Please try again later."),
    500: _l("Something went wrong. Please try again."),
    503: _l("The service is busy. Please try again in a moment."),
}
HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "busy",
}


class ApiError(Exception):
    """A refusal with a stable ``code``; ``message`` may be a lazy string (translated when
    the answer is written) and ``params`` fill its ``%(name)s`` placeholders."""

    def __init__(
        self,
        status: int,
        code: str,
        message: Any = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.field = status, code, field
        self.message = message if message is not None else GENERIC.get(status, GENERIC[500])
        self.params = params
        self.headers = headers or {}


def language() -> str:
    """The caller's account language once known, else the request's best match."""
    chosen = g.get("management_language") if has_request_context() else None
    if chosen in LOCALES:
        return str(chosen)
    best = request.accept_languages.best_match(LOCALES) if has_request_context() else None
    return best or current_app.config["IDP_SETTINGS"].i18n.default_locale


def text(message: Any, **params: Any) -> str:
    """``message`` in the caller's language (a lazy string is translated now)."""
    with force_locale(language()):
        rendered = str(message)  # a lazy string is translated here, in that locale
        return rendered % params if params else rendered


def respond(error: ApiError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": text(error.message, **error.params)}
    if error.field:
        body["field"] = error.field
    response = jsonify({"error": body})
    response.status_code = error.status
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(error.headers)
    return response


def from_directory(error: IdpError) -> ApiError:
    """A refusal of a lower layer (the directory's ``ReferentProtected``, ``LastUsersManager``,
    ...) as the API's: its stable code, and its class's sentence for people (the instance's
    text is the command line's English), or the generic one of its status. A 400 there is a
    422 here: the request was well-formed, its content is what was refused."""
    status = 422 if error.status == 400 else error.status
    message = type(error).message
    if message is IdpError.message:
        message = GENERIC.get(status, GENERIC[500])
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
    return ApiError(status, error.code, message, headers=headers)


def from_http(status: int) -> ApiError:
    return ApiError(status, HTTP_CODES.get(status, "error"), GENERIC.get(status, GENERIC[500]))


def is_api_request() -> bool:
    return has_request_context() and request.path.startswith(PREFIX)
