"""Files under ``keys/``: for now the application secret used outside production.

Production takes its secret from settings (refused if missing); a developer's machine gets
one generated once, so that sessions survive restarts and nothing weak is hard-coded.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from idp.settings import Settings

SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def keys_dir(settings: Settings) -> Path:
    return Path(settings.server.keys_dir).resolve()


def ensure_secret(settings: Settings) -> str:
    """Return the configured secret, or the generated one in ``keys/`` (created if missing)."""
    if settings.server.secret_key:
        return settings.server.secret_key
    if settings.is_production:  # settings validation already refuses this
        raise RuntimeError("production requires server.secret_key")
    path = keys_dir(settings) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
