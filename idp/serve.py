"""Run the app under gunicorn (threads per process, one app and hashing pool per process)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from idp import create_app
from idp.settings import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Built after the fork: each worker owns its connections, hashing and job threads.
        app = create_app(self._settings)
        if self._settings.jobs.run_in_process:
            app.extensions["idp.jobs"].start()
        return app


def run(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    threads: int,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> None:
    """Serve until stopped; with ``certfile``/``keyfile``, over TLS (no proxy in front)."""
    # gunicorn then sets wsgi.url_scheme = https itself: request.is_secure holds, so HSTS is
    # sent and the CSRF check sees an https origin, exactly as behind a trusted proxy.
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile else {}
    _Gunicorn(
        settings,
        {
            **tls,
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "keepalive": 5,
            "graceful_timeout": 10,
            "timeout": 30,
            # Forwarded headers are handled by ProxyFix, as configured by server.trusted_proxies.
            "forwarded_allow_ips": "",
            "proc_name": "idp",
        },
    ).run()
