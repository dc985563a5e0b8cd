"""Structured JSON logs with sensitive fields redacted, and health/readiness probes."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint
from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from idp.extensions import db
from idp.settings import LoggingSettings

SENSITIVE = frozenset({"password", "secret", "token", "code", "authorization", "cookie", "email", "login"})
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

bp = Blueprint("observability", __name__)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: newlines in values cannot forge a second entry."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            entry[key] = "[redacted]" if key.lower() in SENSITIVE else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(settings: LoggingSettings) -> None:
    root = logging.getLogger("idp")
    root.setLevel(settings.level.upper())
    if any(getattr(h, "_idp", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._idp = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if settings.json else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.propagate = False


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
