"""What every ``idp`` command shares: the lazily built app, one transaction per command,
one-line errors with status 2, and ``--json`` output.

Every failure a user can cause prints one line on stderr and exits with status 2, after
rolling back, so that a refused command has changed nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from idp import create_app
from idp import settings as settings_module
from idp.errors import IdpError
from idp.extensions import db
from idp.jobs import pending
from idp.mail.outbox import QUEUE as MAIL_QUEUE
from idp.settings import Settings
from idp.settings import SettingsError

EXIT_USAGE = 2


class CliError(click.ClickException):
    exit_code = EXIT_USAGE


class Context:
    """Builds the settings and app on first use, so ``--help`` needs neither."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._app: Flask | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = settings_module.load(self.config)
        return self._settings

    @property
    def app(self) -> Flask:
        if self._app is None:
            self._app = create_app(self.settings)
            # Audit rows still land in the database; the log mirror would bury the output.
            logging.getLogger("idp").setLevel(logging.WARNING)
        return self._app


pass_ctx = click.make_pass_decorator(Context)


def in_transaction(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command inside an app context and one transaction; roll back on any error."""

    @functools.wraps(fn)
    def wrapper(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        with ctx.app.app_context():
            try:
                result = fn(ctx, *args, **kwargs)
                db.session.commit()
                _send_queued_mail(ctx)
                return result
            except IdpError as exc:
                db.session.rollback()
                raise CliError(str(exc)) from None
            except BaseException:
                db.session.rollback()
                raise

    return pass_ctx(wrapper)


def _send_queued_mail(ctx: Context) -> None:
    """Deliver what the command queued now; a failure leaves it queued for the server."""
    if pending(MAIL_QUEUE):
        try:
            ctx.app.extensions["idp.jobs"].run_due(MAIL_QUEUE)
        except Exception:  # noqa: BLE001 - best effort: a failure leaves the mail queued for the server
            logging.getLogger("idp.mail").warning("cli_delivery_deferred")  # retried by the server


def emit(data: Any, as_json: bool, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        text()


def read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("New password", hide_input=True, confirmation_prompt=True))


class IdpGroup(click.Group):
    """Turns every usage, settings or domain error into one line on stderr and status 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("idp: aborted", err=True)
        except click.ClickException as exc:
            click.echo(f"idp: error: {exc.format_message()}", err=True)
        except SettingsError as exc:
            click.echo(f"idp: error: settings: {exc}", err=True)
        sys.exit(EXIT_USAGE)
