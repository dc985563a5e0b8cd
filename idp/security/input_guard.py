"""Refuse a NUL character anywhere in a request's text, before any view runs.

PostgreSQL text cannot hold U+0000 (the driver raises), and no login, address, password,
code or identifier of ours may contain one. Checking once here — the path, the query, the
form and a JSON body — turns what would be a database error deep inside whichever view
(a 500, a traceback per request) into one clear 400, on every entry point at once.
"""

from __future__ import annotations

from flask import Flask
from flask import request
from werkzeug.exceptions import BadRequest

NUL = "\x00"


def _has_nul() -> bool:
    if NUL in request.path:
        return True
    for values in (request.args, request.form if request.method != "GET" else None):
        if values and any(NUL in key or NUL in value for key, value in values.items(multi=True)):
            return True
    if request.is_json:
        body = request.get_data(cache=True)
        return b"\\u0000" in body or b"\x00" in body
    return False


def _refuse_nul() -> None:
    if _has_nul():
        raise BadRequest("NUL characters are not allowed in requests.")


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
