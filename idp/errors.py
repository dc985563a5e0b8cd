"""Domain errors, and the pages every HTTP error turns into (in the visitor's language).

Services raise an :class:`IdpError` subclass; each surface turns it into its own format
(an HTML page here, a Keystone or OAuth body in the API blueprints).
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("idp.errors")


class IdpError(Exception):
    """A failure the caller can act on; ``code`` is stable, ``message`` is translated."""

    code = "idp_error"
    status = 400
    message = _l("Something went wrong. Please try again.")
    # Seconds after which a retry may succeed (sent as Retry-After), if known.
    retry_after: int | None = None

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or str(self.message))
        if message is not None:
            self.message = message


class ValidationError(IdpError):
    code = "invalid_request"


class NotFound(IdpError):
    code, status = "not_found", 404


class Conflict(IdpError):
    code, status = "conflict", 409


class Busy(IdpError):
    """Too much work is already waiting (e.g. password hashing); retry in a moment."""

    code, status, retry_after = "busy", 503, 1
    message = _l("The service is busy. Please try again in a moment.")


_TITLES = {
    400: _l("The request could not be understood."),
    403: _l("Access denied."),
    404: _l("This page does not exist."),
    405: _l("This action is not allowed here."),
    413: _l("The request is too large."),
    429: _l("Too many requests. Please try again later."),
    500: _l("Something went wrong. Please try again."),
    503: _l("The service is busy. Please try again in a moment."),
}


def error_page(status: int, message: str | None = None) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    text = message or str(_TITLES.get(status, _TITLES[500]))
    try:
        return render_template("errors/error.html", status=status, message=text), status
    except Exception:
        log.exception("error_page_failed")  # an error page must never raise in turn
        return text, status, {"Content-Type": "text/plain; charset=utf-8"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        log.info("csrf_rejected", extra={"reason": exc.description})
        return error_page(
            403, str(_l("This form has expired or did not come from this site. Please reload the page and try again."))
        )

    @app.errorhandler(IdpError)
    def idp_error(exc: IdpError) -> ResponseReturnValue:
        body, status, *_ = error_page(exc.status, str(exc.message))
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return body, status, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        return error_page(exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled_error")
        return error_page(500)
