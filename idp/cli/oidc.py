"""OpenID provider commands: signing keys and registered clients."""

from __future__ import annotations

from typing import Any

import click

from idp import clock
from idp.cli.base import Context
from idp.cli.base import emit
from idp.cli.base import in_transaction
from idp.cli.base import pass_ctx
from idp.oidc import clients as registry


@click.group("keys")
def keys_group() -> None:
    """Token signing keys (keys/signing/)."""


def _key_rows(ctx: Context) -> list[dict[str, Any]]:
    store = ctx.app.extensions["idp.keys"]
    now = clock.now()
    return [
        {
            "kid": k.kid,
            "alg": k.alg,
            "state": k.state(now, store.keep),
            "created_at": k.created_at,
            "active_from": k.active_from,
            "retired_at": k.retired_at,
        }
        for k in store.keys()
    ]


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def keys_list(ctx: Context, as_json: bool) -> None:
    """List signing keys and their state (published, active, retired, expired)."""
    rows = _key_rows(ctx)

    def text() -> None:
        for r in rows:
            click.echo(f"{r['kid']:<32} {r['alg']:<6} {r['state']}")

    emit(rows, as_json, text)


@keys_group.command("rotate")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), default="RS256", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def keys_rotate(ctx: Context, alg: str, as_json: bool) -> None:
    """Publish a new key now; it starts signing after oidc.key_publish_seconds."""
    key = ctx.app.extensions["idp.keys"].rotate(alg)
    data = {"kid": key.kid, "alg": alg, "active_from": key.active_from}
    emit(
        data, as_json, lambda: click.echo(f"published {key.kid}; it signs from {key.active_from:%Y-%m-%d %H:%M:%S} UTC")
    )


@keys_group.command("prune")
@pass_ctx
def keys_prune(ctx: Context) -> None:
    """Delete retired keys that no unexpired token can need."""
    gone = ctx.app.extensions["idp.keys"].prune()
    click.echo(f"{len(gone)} key(s) deleted")


@click.group()
def clients() -> None:
    """Registered relying parties."""


@clients.command("create")
@click.option("--client-id", required=True)
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, metavar="URI")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True, metavar="URI")
@click.option(
    "--backchannel-logout-uri",
    metavar="URI",
    help="Where logouts are POSTed: http(s), no credentials; internal addresses only for --first-party "
    "or within oidc.backchannel_allowed_networks.",
)
@click.option("--public", is_flag=True, help="No secret: PKCE only (token_endpoint_auth_method=none).")
@click.option(
    "--first-party",
    is_flag=True,
    help="One of our own services: no consent page, and its back-channel URI may be on an internal address.",
)
@click.option("--console", "console_login", is_flag=True, help="Web login asks for the company account first.")
@click.option(
    "--management-api",
    is_flag=True,
    help="May get the `management` scope: the management API for its signed-in user (first-party only).",
)
@click.option(
    "--auth-method",
    type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt"]),
    default="client_secret_basic",
    show_default=True,
)
@click.option("--jwks", "jwks_file", type=click.Path(dir_okay=False), help="Public JWKS for private_key_jwt.")
@click.option(
    "--id-token-alg",
    type=click.Choice(["RS256", "ES256"]),
    help="ID token signature (default: oidc.default_signing_alg).",
)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def clients_create(
    ctx: Context,
    client_id: str,
    name: str,
    redirect_uris: tuple[str, ...],
    logout_uris: tuple[str, ...],
    backchannel_logout_uri: str | None,
    public: bool,
    first_party: bool,
    console_login: bool,
    management_api: bool,
    auth_method: str,
    jwks_file: str | None,
    id_token_alg: str | None,
    as_json: bool,
) -> None:
    """Register a client; its secret is printed once and stored only as a hash."""
    reg = registry.create(
        client_id=client_id,
        name=name,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(logout_uris),
        backchannel_logout_uri=backchannel_logout_uri,
        auth_method=auth_method,
        public=public,
        first_party=first_party,
        console_login=console_login,
        management_api=management_api,
        jwks_file=jwks_file,
        id_token_alg=id_token_alg,
    )
    data = {
        "client_id": reg.client.client_id,
        "client_secret": reg.secret,
        "token_endpoint_auth_method": reg.client.token_endpoint_auth_method,
    }

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
    data: list[dict[str, Any]] = [
        {
            "client_id": c.client_id,
            "name": c.name,
            "auth_method": c.token_endpoint_auth_method,
            "redirect_uris": c.redirect_uris,
            "post_logout_redirect_uris": c.post_logout_redirect_uris,
            "backchannel_logout_uri": c.backchannel_logout_uri,
            "first_party": c.first_party,
            "management_api": c.management_api,
        }
        for c in registry.all_clients()
    ]

    def text() -> None:
        for c in data:
            click.echo(f"{c['client_id']:<24} {c['auth_method']:<20} {' '.join(c['redirect_uris'])}")

    emit(data, as_json, text)


@clients.command("delete")
@click.argument("client_id")
@in_transaction
def clients_delete(ctx: Context, client_id: str) -> None:
    """Remove a client."""
    registry.delete(client_id)
    click.echo(f"client {client_id} deleted")
