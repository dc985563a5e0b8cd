"""The ``idp`` command line: one group, its subcommands in modules by subject.

idp init | serve | demo | worker | outbox …   (operations)
idp contracts … | users … | invitations …     (directory)
idp clients … | keys …                        (oidc)
"""

from __future__ import annotations

import click

from idp.cli import directory
from idp.cli import oidc
from idp.cli import operations
from idp.cli.base import Context
from idp.cli.base import IdpGroup


@click.group(cls=IdpGroup)
@click.option("--config", "config", envvar="IDP_CONFIG", type=click.Path(dir_okay=False), help="Settings file (TOML).")
@click.pass_context
def cli(click_ctx: click.Context, config: str | None) -> None:
    """Identity provider of the Cloud Customer Area."""
    click_ctx.obj = Context(config)


for command in (
    operations.init,
    operations.serve,
    operations.demo,
    operations.worker,
    operations.outbox,
    directory.contracts,
    directory.users,
    directory.invitations_group,
    oidc.clients,
    oidc.keys_group,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="idp")
