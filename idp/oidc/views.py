"""Provider endpoints. So far: the JWKS (RFC 7517) that relying parties verify tokens with."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("oidc", __name__)


@bp.get("/jwks")
def jwks() -> ResponseReturnValue:
    response = jsonify(current_app.extensions["idp.keys"].jwks())
    # Short cache: a rotation publishes the new key an hour (key_publish_seconds) ahead.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
