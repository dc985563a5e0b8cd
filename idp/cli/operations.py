"""Operating commands: init, serve, demo, the mail outbox and the job worker."""

from __future__ import annotations

import signal
import threading

import click
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp import database
from idp import demo as demo_data
from idp import keys
from idp.cli.base import CliError
from idp.cli.base import Context
from idp.cli.base import emit
from idp.cli.base import in_transaction
from idp.cli.base import pass_ctx
from idp.errors import NotFound
from idp.extensions import db
from idp.extensions import rowcount
from idp.jobs import Job
from idp.mail.outbox import QUEUE as MAIL_QUEUE
from idp.mail.outbox import summary
from idp.serve import run
from idp.settings_checks import is_loopback


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def init(ctx: Context, as_json: bool) -> None:
    """Create or upgrade the database schema and generate missing keys."""
    keys.ensure_secret(ctx.settings)
    with ctx.app.app_context():
        database.upgrade()
    created = ctx.app.extensions["idp.keys"].ensure()
    data = {
        "database": "ready",
        "keys_dir": str(keys.keys_dir(ctx.settings)),
        "signing_keys_created": [k.kid for k in created],
    }
    emit(data, as_json, lambda: click.echo(f"database at the latest schema; keys in {data['keys_dir']}"))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (default: server.workers).")
@click.option("--threads", type=click.IntRange(1, 256), help="Threads per process (default: server.threads).")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="Serve TLS with this certificate (PEM).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="The certificate's private key (PEM).")
@pass_ctx
def serve(
    ctx: Context,
    host: str,
    port: int,
    workers: int | None,
    threads: int | None,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    """Serve the IdP with gunicorn (the production server), over TLS with --certfile/--keyfile."""
    settings = ctx.settings
    if bool(certfile) != bool(keyfile):
        raise CliError("--certfile and --keyfile go together")
    if not settings.is_production and not is_loopback(host.strip("[]")):
        # test and development relax what protects users (settings_checks): this machine only.
        raise CliError(
            f'--host {host}: server.environment = "{settings.server.environment}" is served on loopback only '
            "(127.0.0.1, ::1, localhost); production settings are needed to serve other machines"
        )
    with ctx.app.app_context():
        if not database.is_current():
            raise CliError("the database schema is not up to date: run `idp init` first")
    run(settings, host, port, workers or settings.server.workers, threads or settings.server.threads, certfile, keyfile)


@click.command()
@click.option(
    "--clients-env",
    default="instance/sso_clients.env",
    show_default=True,
    help="Where the portal's and console's client secrets are written.",
)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def demo(ctx: Context, clients_env: str, as_json: bool) -> None:
    """Load the seed guides' example contracts and users, and register the portal and the
    console (once; never in production)."""
    if ctx.settings.is_production:
        raise CliError("demo data is refused in production")
    loaded = demo_data.load()
    demo_data.register_sso_clients(clients_env)
    data = {"loaded": loaded, "login": demo_data.REFERENT_LOGIN, "password": demo_data.DEMO_PASSWORD}
    emit(data, as_json, lambda: click.echo("demo data loaded" if loaded else "demo data already present"))


@click.group()
def outbox() -> None:
    """The mail outbox."""


@outbox.command("list")
@click.option("--pending", is_flag=True, help="Only messages not sent yet.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def outbox_list(ctx: Context, pending: bool, limit: int, as_json: bool) -> None:
    """List recent messages (never their bodies)."""
    query = select(Job).where(Job.queue == MAIL_QUEUE).order_by(Job.id.desc()).limit(limit)
    if pending:
        query = query.where(Job.done_at.is_(None))
    data = summary(list(db.session.scalars(query)))

    def text() -> None:
        for m in data:
            state = f"pending (attempts {m['attempts']})"
            if m["sent_at"]:  # done: sent, or failed for good when its last error is kept (jobs)
                state = f"{'failed' if m['last_error'] else 'sent'} {m['sent_at']:%Y-%m-%d %H:%M:%S}"
            error = f"  last error: {m['last_error']}" if m["last_error"] else ""
            click.echo(f"#{m['id']:<6} {m['template']:<18} {m['recipient']:<36} {state}{error}")

    emit(data, as_json, text)


@outbox.command("retry")
@click.option("--id", "message_id", type=int, help="Only this message.")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def outbox_retry(ctx: Context, message_id: int | None, as_json: bool) -> None:
    """Make pending messages due now and try to send them."""
    stmt = update(Job).where(Job.queue == MAIL_QUEUE, Job.done_at.is_(None)).values(next_attempt_at=clock.now())
    if message_id is not None:
        stmt = stmt.where(Job.id == message_id)
    if rowcount(stmt) == 0 and message_id is not None:
        raise NotFound(f"no pending message #{message_id}")
    db.session.commit()
    sent = ctx.app.extensions["idp.jobs"].run_due(MAIL_QUEUE)
    emit({"sent": sent}, as_json, lambda: click.echo(f"{sent} message(s) sent"))


@click.command()
@pass_ctx
def worker(ctx: Context) -> None:
    """Run the job queues (mail, back-channel logout) until interrupted
    (with `jobs.run_in_process = false`)."""
    runner = ctx.app.extensions["idp.jobs"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(
        f"idp worker: queues {', '.join(runner.queues)}; polling every {ctx.settings.jobs.poll_seconds} s; "
        "Ctrl-C to stop"
    )
    runner.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
