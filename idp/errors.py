"""Domain errors, and the pages every HTTP error turns into (in the visitor's language)."""

from __future__ import annotations

import logging

from flask import Flask
from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from idp.security.passwords import HasherBusy

log = logging.getLogger("idp.errors")


class IdpError(Exception):
    """A failure the caller can act on; ``code`` is stable, ``message`` is translated."""

    code = "idp_error"
    status = 400
    message = _l("Something went wrong. Please try again.")

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


def _page(status: int, message: str | None = None):  # type: ignore[no-untyped-def]
    text = message or str(_TITLES.get(status, _TITLES[500]))
    try:
        return render_template("errors/error.html", status=status, message=text), status
    except Exception:  # noqa: BLE001 - an error page must never raise in turn
        log.exception("error_page_failed")
        return text, status, {"Content-Type": "text/plain; charset=utf-8"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):  # type: ignore[no-untyped-def]
        log.info("csrf_rejected", extra={"reason": exc.description})
        return _page(403, str(_l("This form has expired or did not come from this site. Please reload the page and try again.")))

    @app.errorhandler(HasherBusy)
    def busy(exc: HasherBusy):  # type: ignore[no-untyped-def]
        response, status = _page(503)
        return response, status, {"Retry-After": "1"}

    @app.errorhandler(IdpError)
    def idp_error(exc: IdpError):  # type: ignore[no-untyped-def]
        return _page(exc.status, str(exc.message))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        return _page(exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled_error")
        return _page(500)
