"""Refuse malformed input once, before any view runs: NUL characters anywhere, and JSON
bodies nested deeper than :data:`MAX_JSON_DEPTH`.

PostgreSQL text cannot hold U+0000 (the driver raises), and no login, address, password,
code or identifier of ours may contain one. Checking once here — the path, the query, the
form and a JSON body — turns what would be a database error deep inside whichever view
(a 500, a traceback per request) into one clear 400, on every entry point at once.

A JSON body 20,000 levels deep is 40 KB, well under the body size limit, and Python's
``json`` parser recurses once per level: it raises ``RecursionError`` (a 500 and a
traceback) in whichever view parses it first. No body of ours is more than a few levels
deep, so any body deeper than :data:`MAX_JSON_DEPTH` is refused here with a 400, counted
by one linear scan that skips string contents (no recursion, no parsing). The size of every
body (JSON or form) is bounded by the application's ``MAX_CONTENT_LENGTH``
(:data:`MAX_BODY_BYTES`): reading a larger one raises werkzeug's 413, here too, before any
view.

The refusals are plain ``BadRequest``/``RequestEntityTooLarge``: the JSON APIs turn them
into their own error shape (Keystone/IAM blueprints, the OAuth endpoints), pages into the
error page.
"""

from __future__ import annotations

import re

from flask import Flask
from flask import request
from werkzeug.exceptions import BadRequest

NUL = "\x00"
MAX_JSON_DEPTH = 32
MAX_BODY_BYTES = 64 * 1024
# A JSON string, escapes included, or an unterminated one up to the end: possessive, so it
# never backtracks and the scan stays linear whatever the body (an unterminated string full
# of escaped quotes would otherwise be retried from each quote: quadratic).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (brackets inside strings do not
    count). Malformed JSON gets a number too; the view refuses it anyway."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


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


def _refuse_malformed() -> None:
    if _has_nul():
        raise BadRequest("NUL characters are not allowed in requests.")
    if request.is_json and json_depth(request.get_data(cache=True)) > MAX_JSON_DEPTH:
        raise BadRequest("The request body is nested too deeply.")


def init_app(app: Flask) -> None:
    """Bound the body size, and run the guard before every other ``before_request`` hook
    (CSRF, sessions), whenever they were registered: malformed input meets no other code."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_malformed)
