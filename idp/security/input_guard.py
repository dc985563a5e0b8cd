"""Refuse malformed input once, before any view runs: NUL characters anywhere, JSON
bodies nested deeper than :data:`MAX_JSON_DEPTH`, and HTTP Basic credentials that are not
text.

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

HTTP Basic credentials (a client's, at ``/token``, ``/introspect``, ``/revoke``; a
service's, at ``/v3/ec2tokens`` and Keystone's token check) are read by authlib's
``extract_basic_authorization``, which decodes them as UTF-8 without catching the error
(``Basic //4=``: a 500 and a traceback) and percent-decodes the client id, so a NUL
reaches the database (an error on PostgreSQL). The header is decoded once here, as authlib
will read it: base64, UTF-8, ``id:secret``, no control character in either part, before or
after percent-decoding (RFC 6749 §2.3.1); anything else is a 400, whichever endpoint.

The refusals are plain ``BadRequest``/``RequestEntityTooLarge``: the JSON APIs turn them
into their own error shape (Keystone/IAM blueprints, the OAuth endpoints), pages into the
error page.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from urllib.parse import unquote

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


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def basic_credentials_problem(header: str | None) -> str | None:
    """Why an ``Authorization: Basic`` header cannot be read as ``id:secret`` text (None
    when it can, or when it is not Basic at all)."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64 (or not ASCII), or not UTF-8
        return "The Basic credentials are not base64-encoded UTF-8 text."
    client_id, colon, secret = text.partition(":")
    if not colon:
        return "The Basic credentials must be an id and a secret separated by a colon."
    if any(_has_control(part) for part in (client_id, secret, unquote(client_id), unquote(secret))):
        return "The Basic credentials must not contain control characters."
    return None


def _refuse_malformed() -> None:
    if _has_nul():
        raise BadRequest("NUL characters are not allowed in requests.")
    problem = basic_credentials_problem(request.headers.get("Authorization"))
    if problem:
        raise BadRequest(problem)
    if request.is_json and json_depth(request.get_data(cache=True)) > MAX_JSON_DEPTH:
        raise BadRequest("The request body is nested too deeply.")


def init_app(app: Flask) -> None:
    """Bound the body size, and run the guard before every other ``before_request`` hook
    (CSRF, sessions), whenever they were registered: malformed input meets no other code."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_malformed)
