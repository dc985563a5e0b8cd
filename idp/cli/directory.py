"""Directory commands: contracts, their members, passwords and console roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from sqlalchemy import select

from idp import clock
from idp.cli.base import CliError
from idp.cli.base import Context
from idp.cli.base import emit
from idp.cli.base import in_transaction
from idp.cli.base import read_password
from idp.directory import accounts
from idp.directory import console_users
from idp.directory import invitations
from idp.directory import roles as role_table
from idp.directory import service
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.errors import NotFound
from idp.extensions import db
from idp.security import new_password


@click.group()
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
    identity = service.Identity(
        login=o["referent_login"],
        email=o["referent_email"],
        first_name=o["referent_first_name"],
        last_name=o["referent_last_name"],
        landline=o["referent_phone"],
        mobile=o["referent_mobile"],
        language=o["referent_language"],
    )
    contract, result = service.create_contract(
        contract_id=contract_id,
        name=o["name"],
        offer=o["offer"],
        company_name=o["company"],
        platform_id=o["platform_id"],
        siret=o["siret"],
        referent=identity,
        exist_ok=True,
    )
    created = result is not None
    referent = contract.referent
    data = {"id": contract_id, "created": created, "referent": referent.login}
    emit(
        data,
        as_json,
        lambda: click.echo(
            f"contract {contract_id} {'created' if created else 'already exists'}; referent {referent.login}"
        ),
    )


@contracts.command("list")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def contracts_list(ctx: Context, as_json: bool) -> None:
    """List contracts."""
    rows = db.session.scalars(select(Contract).order_by(Contract.id)).all()
    data = [
        {
            "id": c.id,
            "name": c.name,
            "offer": c.offer,
            "company": c.company_name,
            "referent": c.referent.login,
            "members": len(c.memberships),
        }
        for c in rows
    ]

    def text() -> None:
        for c in data:
            click.echo(f"{c['id']}  {c['name']:<12} {c['offer']:<28} referent={c['referent']} members={c['members']}")

    emit(data, as_json, text)


@click.group()
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
def users_add(
    ctx: Context, contract_id: str, roles: tuple[str, ...], console_roles: tuple[str, ...], as_json: bool, **o: Any
) -> None:
    """Declare a person on a contract. An email that already has an account gets an
    invitation instead: the roles take effect when the person, signed in, accepts it."""
    try:
        parsed = dict(role_table.parse_assignment(r) for r in roles)
    except role_table.RoleError as exc:
        raise CliError(str(exc)) from None
    identity = service.Identity(
        login=o["login"],
        email=o["email"],
        first_name=o["first_name"],
        last_name=o["last_name"],
        landline=o["landline"],
        mobile=o["mobile"],
        civility=o["civility"],
        language=o["language"],
    )
    result = service.add_member(contract_id, identity, parsed, list(console_roles))
    if result.invitation is not None:
        # Only the address typed: which login owns it is none of the caller's business.
        invitation = result.invitation
        data: dict[str, Any] = {
            "email": identity.email.strip(),
            "contract": contract_id,
            "status": "invited",
            "account_created": False,
            "expires_at": invitation.expires_at.isoformat(),
        }
        message = (
            f"invitation sent to {data['email']}; roles take effect when accepted "
            f"(before {invitation.expires_at:%Y-%m-%d %H:%M} UTC)"
        )
    else:
        assert result.membership is not None
        membership = result.membership
        login = membership.account.login
        data = {
            "login": login,
            "contract": membership.contract_id,
            "status": "added",
            "account_created": result.account_created,
            "enabled_again": result.enabled_again,
        }
        sent = "access and console access emails sent" if membership.is_console_user else "access email sent"
        again = "; disabled account enabled again (no password until set)" if result.enabled_again else ""
        message = f"{login} added to {membership.contract_id}{again}; {sent}"
    emit(data, as_json, lambda: click.echo(message))


@users.command("list")
@click.option("--contract", "contract_id", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_list(ctx: Context, contract_id: str, as_json: bool) -> None:
    """List the members of a contract with their roles."""
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    data: list[dict[str, Any]] = [
        {
            "login": m.account.login,
            "email": m.account.email,
            "first_name": m.account.first_name,
            "last_name": m.account.last_name,
            "referent": m.account_id == contract.referent_account_id,
            "roles": {k: v.value for k, v in m.shown_roles().items()},
            "console_roles": m.console_role_names,
            "password_set": m.account.password_hash is not None,
        }
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
    """Remove a person from a contract (never its referent, never its last users manager).
    Their console user goes with it. With no contract left, the account is disabled, not
    deleted: its sessions end everywhere (back-channel logout) and its tokens are revoked; it
    is kept for the audit trail until `idp users purge-disabled` or the retention
    (jobs.disabled_account_retention_seconds) deletes it."""
    disabled = service.remove_member(contract_id, login)
    data = {"login": login, "contract": contract_id, "account_disabled": disabled}
    emit(
        data,
        as_json,
        lambda: click.echo(
            f"{login} removed from {contract_id}" + (" (account disabled: no contract left)" if disabled else "")
        ),
    )


@users.command("purge-disabled")
@click.option("--older-than", "days", type=click.IntRange(min=0), required=True, metavar="DAYS", help="0: all.")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_purge_disabled(ctx: Context, days: int, as_json: bool) -> None:
    """Delete the accounts disabled (left with no contract) DAYS days ago or more; the
    maintenance run does it by itself after jobs.disabled_account_retention_seconds. The
    audit trail keeps its rows (without the link to the account)."""
    cutoff = clock.now() - timedelta(days=days)
    purged = 0
    while batch := accounts.purge_disabled(cutoff):
        purged += batch
        db.session.commit()
        if batch < accounts.PURGE_BATCH:
            break
    emit({"purged": purged}, as_json, lambda: click.echo(f"{purged} disabled account(s) deleted"))


@users.command("set-password")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@in_transaction
def users_set_password(ctx: Context, login: str, password_stdin: bool) -> None:
    """Set a person's web password (the password policy applies)."""
    password = read_password(password_stdin)
    account = service.find_account(login)
    if account is None:
        raise NotFound(f"no account with login {login}")
    # Ends every session of the account (and, if a password was replaced, tells the person):
    # see security.new_password for why.
    new_password.apply(account, password, new_password.Reason.OPERATOR)
    click.echo(f"password set for {account.login}")


@users.command("set-api-password")
@click.argument("login")
@click.option("--contract", "contract_id", required=True, help="The company account (OCB…).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@in_transaction
def users_set_api_password(ctx: Context, login: str, contract_id: str, password_stdin: bool) -> None:
    """Set a console user's API password (same policy; their API tokens end)."""
    user = console_users.for_login(contract_id, login)
    console_users.set_api_password(user, read_password(password_stdin))
    click.echo(f"API password set for {login} on {contract_id}")


def _roles_data(login: str, membership: Membership, changed: bool) -> dict[str, Any]:
    return {
        "login": login,
        "contract": membership.contract_id,
        "roles": {k: v.value for k, v in membership.shown_roles().items()},
        "console_roles": membership.console_role_names,
        "changed": changed,
    }


def _roles_line(data: dict[str, Any]) -> str:
    roles = " ".join(f"{k}={v}" for k, v in data["roles"].items())
    console = ", ".join(data["console_roles"]) or "none"
    return f"{data['login']} on {data['contract']}: {roles}; console roles {console}" + (
        "" if data["changed"] else " (unchanged)"
    )


@users.command("set-roles")
@click.argument("login")
@click.option("--contract", "contract_id", required=True)
@click.option("--role", "roles", multiple=True, metavar="SECTION=LEVEL", help="Repeat; sections not named keep theirs.")
@click.option("--console-role", "console_roles", multiple=True, metavar="ROLE", help="Repeat; replaces them.")
@click.option("--no-console-roles", is_flag=True, help="Remove every console role (and the console user).")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_set_roles(
    ctx: Context,
    login: str,
    contract_id: str,
    roles: tuple[str, ...],
    console_roles: tuple[str, ...],
    no_console_roles: bool,
    as_json: bool,
) -> None:
    """Change a member's section roles and console roles (checked for the contract's offer).
    The console user is provisioned (console access email) or removed (API password, tokens,
    access keys) accordingly, and the person is mailed their new roles. The referent's roles
    cannot be lowered; the last users manager cannot be demoted."""
    if console_roles and no_console_roles:
        raise CliError("--console-role and --no-console-roles exclude each other")
    try:
        parsed = dict(role_table.parse_assignment(r) for r in roles)
    except role_table.RoleError as exc:
        raise CliError(str(exc)) from None
    console = [] if no_console_roles else (list(console_roles) or None)
    change = service.set_roles(contract_id, login, parsed, console, actor=None)
    data = _roles_data(login, change.membership, change.changed)
    emit(data, as_json, lambda: click.echo(_roles_line(data)))


@users.command("set-console-roles")
@click.argument("login")
@click.option("--contract", "contract_id", required=True)
@click.option("--console-role", "roles", multiple=True, metavar="ROLE", help="Repeat; none removes the console user.")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def users_set_console_roles(ctx: Context, login: str, contract_id: str, roles: tuple[str, ...], as_json: bool) -> None:
    """Replace a member's console roles (`set-roles` with the sections unchanged); without
    any, their console user (API password, tokens, access keys) is removed."""
    change = service.set_roles(contract_id, login, None, list(roles), actor=None)
    data = _roles_data(login, change.membership, change.changed)
    emit(data, as_json, lambda: click.echo(_roles_line(data)))


@click.group("invitations")
def invitations_group() -> None:
    """Invitations of existing identities to more contracts (sent by `idp users add`)."""


@invitations_group.command("list")
@click.argument("contract_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def invitations_list(ctx: Context, contract_id: str | None, as_json: bool) -> None:
    """List invitations, newest first: pending, accepted, declined, revoked or expired."""
    data: list[dict[str, Any]] = [
        {
            "contract": i.contract_id,
            "email": i.email,
            "state": i.state,
            "created_at": i.created_at.isoformat(),
            "expires_at": i.expires_at.isoformat(),
            "inviter": i.inviter.login if i.inviter is not None else None,
            "section_roles": i.section_roles,
            "console_roles": i.console_roles,
        }
        for i in invitations.of_contract(contract_id)
    ]

    def text() -> None:
        for i in data:
            click.echo(f"{i['contract']}  {i['email']}  {i['state']}  expires {i['expires_at'][:16]}")

    emit(data, as_json, text)


@invitations_group.command("revoke")
@click.argument("contract_id")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def invitations_revoke(ctx: Context, contract_id: str, email: str, as_json: bool) -> None:
    """Revoke the pending invitation sent to EMAIL for CONTRACT_ID: it grants nothing any more."""
    count = invitations.revoke(contract_id, email)
    data = {"contract": contract_id, "email": email, "revoked": count}
    emit(data, as_json, lambda: click.echo(f"invitation to {email} for {contract_id} revoked"))
