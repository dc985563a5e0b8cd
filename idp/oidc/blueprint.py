"""The provider's blueprint, shared by its view modules (discovery, authorize, logout)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("oidc", __name__)
