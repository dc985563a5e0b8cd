"""The ``idp`` command line: init, serve, demo, contracts and users.

Every failure a user can cause prints one line on stderr and exits with status 2, after
rolling back, so that a refused command has changed nothing.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from idp.errors import IdpError
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
            from idp import settings

            self._settings = settings.load(self.config)
        return self._settings

    @property
    def app(self) -> Flask:
        if self._app is None:
            from idp import create_app

            self._app = create_app(self.settings)
            # Audit rows still land in the database; the log mirror would bury the output.
            logging.getLogger("idp").setLevel(logging.WARNING)
        return self._app


pass_ctx = click.make_pass_decorator(Context)


def in_transaction(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command inside an app context and one transaction; roll back on any error."""

    def wrapper(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        from idp.extensions import db

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

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return pass_ctx(wrapper)


def _send_queued_mail(ctx: Context) -> None:
    """Deliver what the command queued now; a failure leaves it queued for the server."""
    from idp.mail.outbox import pending_count

    if pending_count():
        try:
            ctx.app.extensions["idp.mail"].deliver_now()
        except Exception:  # noqa: BLE001 - the message stays in the outbox, retried later
            logging.getLogger("idp.mail").warning("cli_delivery_deferred")


def emit(data: Any, as_json: bool, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        text()


class IdpGroup(click.Group):
    """Turns every usage, settings or domain error into one line on stderr and status 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
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


@click.group(cls=IdpGroup)
@click.option("--config", "config", envvar="IDP_CONFIG", type=click.Path(dir_okay=False), help="Settings file (TOML).")
@click.pass_context
def cli(click_ctx: click.Context, config: str | None) -> None:
    """Identity provider of the Cloud Customer Area."""
    click_ctx.obj = Context(config)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def init(ctx: Context, as_json: bool) -> None:
    """Create or upgrade the database schema and generate missing keys."""
    from idp import database
    from idp import keys

    keys.ensure_secret(ctx.settings)
    with ctx.app.app_context():
        database.upgrade()
    created = ctx.app.extensions["idp.keys"].ensure()
    data = {"database": "ready", "keys_dir": str(keys.keys_dir(ctx.settings)),
            "signing_keys_created": [k.kid for k in created]}
    emit(data, as_json, lambda: click.echo(f"database at the latest schema; keys in {data['keys_dir']}"))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (default: server.workers).")
@click.option("--threads", type=click.IntRange(1, 256), help="Threads per process (default: server.threads).")
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the IdP with gunicorn (the production server)."""
    from idp import database
    from idp.serve import run

    settings = ctx.settings
    with ctx.app.app_context():
        if not database.is_current():
            raise CliError("the database schema is not up to date: run `idp init` first")
    run(settings, host, port, workers or settings.server.workers, threads or settings.server.threads)


@cli.command()
@click.option("--clients-env", default="instance/sso_clients.env", show_default=True,
              help="Where the portal's and console's client secrets are written.")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def demo(ctx: Context, clients_env: str, as_json: bool) -> None:
    """Load the seed guides' example contracts and users, and register the portal and the
    console (once; never in production)."""
    from idp import demo as demo_data

    if ctx.settings.is_production:
        raise CliError("demo data is refused in production")
    loaded = demo_data.load()
    demo_data.register_sso_clients(clients_env)
    data = {"loaded": loaded, "login": demo_data.REFERENT_LOGIN, "password": demo_data.DEMO_PASSWORD}
    emit(data, as_json, lambda: click.echo("demo data loaded" if loaded else "demo data already present"))


# --- mail -----------------------------------------------------------------------------


@cli.group()
def outbox() -> None:
    """The mail outbox."""


@outbox.command("list")
@click.option("--pending", is_flag=True, help="Only messages not sent yet.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def outbox_list(ctx: Context, pending: bool, limit: int, as_json: bool) -> None:
    """List recent messages (never their bodies)."""
    from sqlalchemy import select

    from idp.extensions import db
    from idp.mail.outbox import OutboxMessage
    from idp.mail.outbox import summary

    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if pending:
        query = query.where(OutboxMessage.sent_at.is_(None))
    data = summary(list(db.session.scalars(query)))

    def text() -> None:
        for m in data:
            state = f"sent {m['sent_at']:%Y-%m-%d %H:%M:%S}" if m["sent_at"] else f"pending (attempts {m['attempts']})"
            error = f"  last error: {m['last_error']}" if m["last_error"] else ""
            click.echo(f"#{m['id']:<6} {m['template']:<18} {m['recipient']:<36} {state}{error}")

    emit(data, as_json, text)


@outbox.command("retry")
@click.option("--id", "message_id", type=int, help="Only this message.")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def outbox_retry(ctx: Context, message_id: int | None, as_json: bool) -> None:
    """Make pending messages due now and try to send them."""
    from sqlalchemy import update

    from idp import clock
    from idp.errors import NotFound
    from idp.extensions import db
    from idp.mail.outbox import OutboxMessage

    stmt = update(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).values(next_attempt_at=clock.now())
    if message_id is not None:
        stmt = stmt.where(OutboxMessage.id == message_id)
    if db.session.execute(stmt).rowcount == 0 and message_id is not None:
        raise NotFound(f"no pending message #{message_id}")
    db.session.commit()
    sent = ctx.app.extensions["idp.mail"].deliver_now()
    emit({"sent": sent}, as_json, lambda: click.echo(f"{sent} message(s) sent"))


@cli.command()
@pass_ctx
def worker(ctx: Context) -> None:
    """Send the outbox until interrupted (with `mail.dispatch_in_process = false`)."""
    import signal
    import threading

    dispatcher = ctx.app.extensions["idp.mail"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"idp worker: sending every {ctx.settings.mail.poll_seconds} s; Ctrl-C to stop")
    try:
        while not stop.is_set():
            dispatcher.deliver_now()
            stop.wait(ctx.settings.mail.poll_seconds)
    except KeyboardInterrupt:
        pass


# --- keys and clients -------------------------------------------------------------------


@cli.group("keys")
def keys_group() -> None:
    """Token signing keys (keys/signing/)."""


def _key_rows(ctx: Context) -> list[dict[str, Any]]:
    from idp import clock

    store = ctx.app.extensions["idp.keys"]
    now = clock.now()
    return [{"kid": k.kid, "alg": k.alg, "state": k.state(now, store.keep), "created_at": k.created_at,
             "active_from": k.active_from, "retired_at": k.retired_at} for k in store.keys()]


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def keys_list(ctx: Context, as_json: bool) -> None:
    """List signing keys and their state (published, active, retired, expired)."""
    rows = _key_rows(ctx)
    emit(rows, as_json, lambda: [click.echo(f"{r['kid']:<32} {r['alg']:<6} {r['state']}") for r in rows])


@keys_group.command("rotate")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), default="RS256", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def keys_rotate(ctx: Context, alg: str, as_json: bool) -> None:
    """Publish a new key now; it starts signing after oidc.key_publish_seconds."""
    key = ctx.app.extensions["idp.keys"].rotate(alg)
    data = {"kid": key.kid, "alg": alg, "active_from": key.active_from}
    emit(data, as_json, lambda: click.echo(f"published {key.kid}; it signs from {key.active_from:%Y-%m-%d %H:%M:%S} UTC"))


@keys_group.command("prune")
@pass_ctx
def keys_prune(ctx: Context) -> None:
    """Delete retired keys that no unexpired token can need."""
    gone = ctx.app.extensions["idp.keys"].prune()
    click.echo(f"{len(gone)} key(s) deleted")


@cli.group()
def clients() -> None:
    """Registered relying parties."""


@clients.command("create")
@click.option("--client-id", required=True)
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, metavar="URI")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True, metavar="URI")
@click.option("--backchannel-logout-uri", metavar="URI")
@click.option("--public", is_flag=True, help="No secret: PKCE only (token_endpoint_auth_method=none).")
@click.option("--first-party", is_flag=True, help="Skip the consent page.")
@click.option("--console", "console_login", is_flag=True, help="Web login asks for the company account first.")
@click.option("--auth-method", type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt"]),
              default="client_secret_basic", show_default=True)
@click.option("--jwks", "jwks_file", type=click.Path(dir_okay=False), help="Public JWKS for private_key_jwt.")
@click.option("--id-token-alg", type=click.Choice(["RS256", "ES256"]), help="ID token signature (default: oidc.default_signing_alg).")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def clients_create(ctx: Context, client_id: str, name: str, redirect_uris: tuple[str, ...],
                   logout_uris: tuple[str, ...], backchannel_logout_uri: str | None, public: bool,
                   first_party: bool, console_login: bool, auth_method: str, jwks_file: str | None,
                   id_token_alg: str | None, as_json: bool) -> None:
    """Register a client; its secret is printed once and stored only as a hash."""
    from idp.oidc import clients as registry

    reg = registry.create(
        client_id=client_id, name=name, redirect_uris=list(redirect_uris), post_logout_redirect_uris=list(logout_uris),
        backchannel_logout_uri=backchannel_logout_uri, auth_method=auth_method, public=public,
        first_party=first_party, console_login=console_login, jwks_file=jwks_file, id_token_alg=id_token_alg,
    )
    data = {"client_id": reg.client.client_id, "client_secret": reg.secret,
            "token_endpoint_auth_method": reg.client.token_endpoint_auth_method}

    def text() -> None:
        click.echo(f"client {reg.client.client_id} created ({reg.client.token_endpoint_auth_method})")
        if reg.secret:
            click.echo(f"client secret (shown once, store it now): {reg.secret}")

    emit(data, as_json, text)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def clients_list(ctx: Context, as_json: bool) -> None:
    """List clients (never their secrets)."""
    from idp.oidc import clients as registry

    data = [{"client_id": c.client_id, "name": c.name, "auth_method": c.token_endpoint_auth_method,
             "redirect_uris": c.redirect_uris, "post_logout_redirect_uris": c.post_logout_redirect_uris,
             "backchannel_logout_uri": c.backchannel_logout_uri, "first_party": c.first_party}
            for c in registry.all_clients()]
    emit(data, as_json, lambda: [click.echo(f"{c['client_id']:<24} {c['auth_method']:<20} {' '.join(c['redirect_uris'])}")
                                 for c in data])


@clients.command("delete")
@click.argument("client_id")
@in_transaction
def clients_delete(ctx: Context, client_id: str) -> None:
    """Remove a client."""
    from idp.oidc import clients as registry

    registry.delete(client_id)
    click.echo(f"client {client_id} deleted")


# --- contracts ------------------------------------------------------------------------


@cli.group()
def contracts() -> None:
    """Customer contracts (company accounts OCB…)."""


@contracts.command("create")
@click.option("--id", "contract_id", required=True, help="Company account, e.g. OCB0000124.")
@click.option("--name", required=True)
@click.option("--offer", required=True, help="flexible-engine or flexible-computing-advanced.")
@click.option("--company", required=True, help="Company name.")
@click.option("--platform-id")
@click.option("--siret")
@click.option("--referent-login", required=True)
@click.option("--referent-email", required=True)
@click.option("--referent-first-name", required=True)
@click.option("--referent-last-name", required=True)
@click.option("--referent-phone", help="Landline.")
@click.option("--referent-mobile")
@click.option("--referent-language", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def contracts_create(ctx: Context, contract_id: str, as_json: bool, **o: Any) -> None:
    """Create a contract and its referent (reused if the email has an account)."""
    from idp.directory import service

    identity = service.Identity(
        login=o["referent_login"], email=o["referent_email"], first_name=o["referent_first_name"],
        last_name=o["referent_last_name"], landline=o["referent_phone"], mobile=o["referent_mobile"],
        language=o["referent_language"],
    )
    contract, result = service.create_contract(
        contract_id=contract_id, name=o["name"], offer=o["offer"], company_name=o["company"],
        platform_id=o["platform_id"], siret=o["siret"], referent=identity, exist_ok=True,
    )
    created = result is not None
    referent = contract.referent
    data = {"id": contract_id, "created": created, "referent": referent.login}
    emit(data, as_json, lambda: click.echo(
        f"contract {contract_id} {'created' if created else 'already exists'}; referent {referent.login}"
    ))


@contracts.command("list")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def contracts_list(ctx: Context, as_json: bool) -> None:
    """List contracts."""
    from sqlalchemy import select

    from idp.directory.models import Contract
    from idp.extensions import db

    rows = db.session.scalars(select(Contract).order_by(Contract.id)).all()
    data = [
        {"id": c.id, "name": c.name, "offer": c.offer, "company": c.company_name, "referent": c.referent.login,
         "members": len(c.memberships)}
        for c in rows
    ]

    def text() -> None:
        for c in data:
            click.echo(f"{c['id']}  {c['name']:<12} {c['offer']:<28} referent={c['referent']} members={c['members']}")

    emit(data, as_json, text)


# --- users ----------------------------------------------------------------------------


@cli.group()
def users() -> None:
    """Accounts and their memberships."""


@users.command("add")
@click.option("--contract", "contract_id", required=True)
@click.option("--login", required=True)
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--landline")
@click.option("--mobile")
@click.option("--civility", type=click.Choice(["madame", "monsieur"]))
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--role", "roles", multiple=True, metavar="SECTION=LEVEL")
@click.option("--console-role", "console_roles", multiple=True, metavar="ROLE")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_add(ctx: Context, contract_id: str, roles: tuple[str, ...], console_roles: tuple[str, ...],
              as_json: bool, **o: Any) -> None:
    """Declare a person on a contract (their existing identity is reused by email)."""
    from idp.directory import roles as role_table
    from idp.directory import service

    try:
        parsed = dict(role_table.parse_assignment(r) for r in roles)
    except role_table.RoleError as exc:
        raise CliError(str(exc)) from None
    identity = service.Identity(
        login=o["login"], email=o["email"], first_name=o["first_name"], last_name=o["last_name"],
        landline=o["landline"], mobile=o["mobile"], civility=o["civility"], language=o["language"],
    )
    result = service.add_member(contract_id, identity, parsed, list(console_roles))
    account = result.membership.account
    data = {"login": account.login, "contract": contract_id, "account_created": result.account_created,
            "login_ignored": result.login_ignored}

    def text() -> None:
        click.echo(f"{account.login} added to {contract_id}")
        for note in result.notes:
            click.echo(f"note: {note}", err=True)

    emit(data, as_json, text)


@users.command("list")
@click.option("--contract", "contract_id", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_list(ctx: Context, contract_id: str, as_json: bool) -> None:
    """List the members of a contract with their roles."""
    from idp.directory.models import Contract
    from idp.errors import NotFound
    from idp.extensions import db

    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    data = [
        {"login": m.account.login, "email": m.account.email, "first_name": m.account.first_name,
         "last_name": m.account.last_name, "referent": m.account_id == contract.referent_account_id,
         "roles": {k: v.value for k, v in m.section_roles().items()}, "console_roles": m.console_role_names,
         "password_set": m.account.password_hash is not None}
        for m in sorted(contract.memberships, key=lambda m: m.account.login_canonical)
    ]

    def text() -> None:
        for u in data:
            roles = " ".join(f"{k}={v}" for k, v in u["roles"].items() if v != "none")
            console = ",".join(u["console_roles"]) or "-"
            mark = " (referent)" if u["referent"] else ""
            click.echo(f"{u['login']}{mark}  {roles}  console={console}")

    emit(data, as_json, text)


@users.command("remove")
@click.argument("login")
@click.option("--contract", "contract_id", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_remove(ctx: Context, login: str, contract_id: str, as_json: bool) -> None:
    """Remove a person from a contract (never its referent); with no contract left, their
    account goes too, ending their sessions everywhere (back-channel logout)."""
    from idp.directory import service

    account_removed = service.remove_member(contract_id, login)
    data = {"login": login, "contract": contract_id, "account_removed": account_removed}
    emit(data, as_json, lambda: click.echo(f"{login} removed from {contract_id}"
                                           + (" (account removed: no contract left)" if account_removed else "")))


@users.command("set-password")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@in_transaction
def users_set_password(ctx: Context, login: str, password_stdin: bool) -> None:
    """Set a person's web password (the password policy applies)."""
    from idp.directory import service
    from idp.errors import NotFound

    password = _read_password(password_stdin)
    account = service.find_account(login)
    if account is None:
        raise NotFound(f"no account with login {login}")
    service.set_password(account, password)
    click.echo(f"password set for {account.login}")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("New password", hide_input=True, confirmation_prompt=True))


@users.command("set-api-password")
@click.argument("login")
@click.option("--contract", "contract_id", required=True, help="The company account (OCB…).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@in_transaction
def users_set_api_password(ctx: Context, login: str, contract_id: str, password_stdin: bool) -> None:
    """Set a console user's API password (same policy; their API tokens end)."""
    from idp.api import console_users

    user = console_users.for_login(contract_id, login)
    console_users.set_api_password(user, _read_password(password_stdin))
    click.echo(f"API password set for {login} on {contract_id}")


@users.command("set-console-roles")
@click.argument("login")
@click.option("--contract", "contract_id", required=True)
@click.option("--console-role", "roles", multiple=True, metavar="ROLE", help="Repeat; none removes the console user.")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_set_console_roles(ctx: Context, login: str, contract_id: str, roles: tuple[str, ...], as_json: bool) -> None:
    """Replace a member's console roles; without any, their console user (API password,
    tokens, access keys) is removed."""
    from idp.directory import service

    membership = service.set_console_roles(contract_id, login, list(roles))
    data = {"login": login, "contract": contract_id, "console_roles": membership.console_role_names}
    emit(data, as_json, lambda: click.echo(f"{login} on {contract_id}: console roles "
                                           + (", ".join(data["console_roles"]) or "none")))


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="idp")
