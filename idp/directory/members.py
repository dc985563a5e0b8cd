"""Changing and removing a contract's members (SPEC §2, §6; FCA §4.7.3-4, FE §5.9.1.3).

One function per act, called by the command line now and by the management API and the
portal's pages: :func:`set_roles` (section and console roles together, the console user
provisioned, updated or removed with them) and :func:`remove_member`. Callers commit; a
refused change raises before anything is written that the caller could keep.

Two members a contract can never lose, by any path:

- **its referent**: never removed, and their roles are a floor — the referent roles of the
  offer (SPEC §2: the highest level of each section, and ``admin`` on a Flexible Engine
  console). Nothing may lower them; console roles may be *added* (another built-in role, a
  custom group) and those additions removed again;
- **its last users manager** (``users = manager``): a demotion or a removal that would leave
  the contract without one is refused. With the referent's floor there is always one, but
  the rule stands on its own (a contract whose referent is not a users manager, from older
  data, keeps its last one too).

Both hold under concurrency: every function that can take a users manager away writes the
contract's row first (:func:`lock_contract`), so two managers demoting each other at once
queue there — PostgreSQL's row lock, SQLite's write lock — and the second counts after the
first has committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import selectinload

from idp import events
from idp.directory import accounts
from idp.directory import console_users
from idp.directory import invitations
from idp.directory import notices
from idp.directory import roles as table
from idp.directory.models import Account
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.directory.roles import Level
from idp.errors import Conflict
from idp.errors import NotFound
from idp.errors import ValidationError
from idp.extensions import db
from idp.extensions import rowcount
from idp.security import audit
from idp.security import canonical


class ReferentProtected(Conflict):
    """The referent cannot be removed, nor lose any of the referent roles of the offer.

    ``str(error)`` says what in English (command line, logs); the class's ``message`` is the
    sentence for people, in their language (``type(error).message``), as for every error here.
    """

    code = "referent_protected"
    message = _l("The referent of a contract cannot be removed from it and keeps the referent's roles.")


class LastUsersManager(Conflict):
    code = "last_users_manager"
    message = _l("The contract must keep at least one manager of its users: give this role to someone else first.")


class ConsoleNotOffered(ValidationError):
    code = "console_not_offered"
    message = _l("This contract's offer has no Flexible Engine console roles.")


class InvalidRole(ValidationError):
    code = "invalid_role"
    message = _l("One of the roles is not offered for this section of this contract.")


@dataclass(frozen=True)
class RolesChange:
    """What :func:`set_roles` did: the membership as it is now, and whether anything changed."""

    membership: Membership
    changed: bool


def lock_contract(contract_id: str) -> Contract:
    """Write the contract's row (a no-op) before reading who manages it, and return it as it
    is now. Parallel changes to its members wait here until this transaction ends (a write,
    not ``FOR UPDATE``, which SQLite ignores)."""
    contract_id = canonical.company_account(contract_id)
    if not rowcount(update(Contract).where(Contract.id == contract_id).values(name=Contract.name)):
        raise NotFound(f"no contract {contract_id}")
    return db.session.scalars(
        select(Contract).where(Contract.id == contract_id).execution_options(populate_existing=True)
    ).one()


def membership_of(contract_id: str, who: Account | str) -> Membership:
    """The membership of an account, or of a login (any spelling), fresh from the database."""
    query = select(Membership).join(Account).where(Membership.contract_id == contract_id)
    if isinstance(who, Account):
        query = query.where(Membership.account_id == who.id)
    else:
        query = query.where(Account.login_canonical == canonical.login(who))
    membership = db.session.scalar(
        query.options(selectinload(Membership.console_roles)).execution_options(populate_existing=True)
    )
    if membership is None:
        login = who.login if isinstance(who, Account) else who
        raise NotFound(f"{login} is not a member of {contract_id}")
    return membership


def check_section_roles(offer: str, wanted: Mapping[str, Level | str]) -> dict[str, Level]:
    try:
        return dict(table.check(offer, str(section), str(level)) for section, level in wanted.items())
    except table.RoleError as exc:
        raise InvalidRole(str(exc)) from None


def check_console_roles(contract: Contract, roles: Sequence[str]) -> list[str]:
    """Built-in roles and the contract's own groups are valid on a Flexible Engine contract;
    anything else, and any console role on another offer, is refused."""
    if roles and not table.has_console(contract.offer):
        raise ConsoleNotOffered(f"{contract.id} is a {contract.offer} contract: it has no console roles")
    groups = {g.name for g in contract.console_groups}
    unknown = [r for r in roles if r not in table.BUILTIN_CONSOLE_ROLES and r not in groups]
    if unknown:
        raise ValidationError(
            f"unknown console role {unknown[0]!r} for {contract.id} "
            f"(built-in: {', '.join(table.BUILTIN_CONSOLE_ROLES)}; groups: {', '.join(sorted(groups)) or 'none'})"
        )
    return sorted(set(roles))


def _is_referent(membership: Membership) -> bool:
    return membership.contract.referent_account_id == membership.account_id


def _other_users_managers(membership: Membership) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.contract_id == membership.contract_id,
                Membership.id != membership.id,
                Membership.role_users == Level.MANAGER.value,
            )
        )
        or 0
    )


def _keeps_a_users_manager(membership: Membership, new_users_level: Level | None) -> None:
    """Refuse taking ``membership``'s users-manager role away (None: removing it) if it is
    the contract's last one. Runs after :func:`lock_contract`."""
    if membership.role_users != Level.MANAGER.value or new_users_level == Level.MANAGER:
        return
    if not _other_users_managers(membership):
        who = membership.account.login
        raise LastUsersManager(f"{who} is the last users manager of {membership.contract_id}")


def _referent_floor(membership: Membership, sections: dict[str, Level], console: list[str]) -> None:
    """Refuse lowering any of the referent's roles below the referent roles of the offer."""
    offer = membership.contract.offer
    current = membership.section_roles()
    floor = table.referent_roles(offer)
    for name in table.OFFER_SECTIONS[table.offer_of(offer)]:
        if sections[name] != current[name] and table.is_lower(sections[name], floor[name]):
            raise ReferentProtected(f"the referent keeps {name}={floor[name].value} on {membership.contract_id}")
    lost = set(table.referent_console_roles(offer)) & set(membership.console_role_names) - set(console)
    if lost:
        raise ReferentProtected(f"the referent keeps the console role {sorted(lost)[0]} on {membership.contract_id}")


def _actor_name(actor: Account | None) -> str | None:
    return actor.login if actor is not None else None


def _membership_changed(account_id: int, contract_id: str) -> None:
    events.membership_changed.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        account_id=account_id,
        contract_id=contract_id,
    )


def set_roles(
    contract_id: str,
    account_or_login: Account | str,
    section_roles: Mapping[str, Level | str] | None = None,
    console_roles: Sequence[str] | None = None,
    *,
    actor: Account | None = None,
) -> RolesChange:
    """Change a member's section roles and console roles together, validated for the offer.

    ``section_roles`` names the sections to change (the others keep their level; only the
    offer's sections may be named); ``console_roles`` replaces the console roles (empty: no
    console access; None: unchanged). The console user follows (``console_users.sync``:
    provisioned with the console access email, or removed with its API password, Keystone
    tokens and access keys); OAuth tokens that carried the old roles are revoked
    (``events.membership_changed``); the change is audited with ``actor`` (None: the
    operator) and mailed to the person. Nothing changed: nothing written, nobody mailed.
    """
    contract = lock_contract(contract_id)
    membership = membership_of(contract.id, account_or_login)
    sections = membership.section_roles() | check_section_roles(contract.offer, section_roles or {})
    console = membership.console_role_names if console_roles is None else check_console_roles(contract, console_roles)
    if _is_referent(membership):
        _referent_floor(membership, sections, console)
    _keeps_a_users_manager(membership, sections["users"])
    before = (membership.section_roles(), membership.console_role_names)
    if (sections, console) == before:
        return RolesChange(membership, changed=False)
    membership.set_section_roles(sections)
    if console != membership.console_role_names:
        membership.console_roles = [MembershipConsoleRole(role=r) for r in console]
    db.session.flush()
    console_users.sync(membership)
    _membership_changed(membership.account_id, contract.id)  # tokens carried the old roles
    audit.record(
        audit.EventTag.ROLES_CHANGED,
        membership.account_id,
        actor=_actor_name(actor),
        contract=contract.id,
        roles={name: level.value for name, level in membership.shown_roles().items()},
        console_roles=console,
    )
    notices.send_roles_changed(membership, actor)
    return RolesChange(membership, changed=True)


def set_console_roles(
    contract_id: str, account_or_login: Account | str, roles: Sequence[str], *, actor: Account | None = None
) -> Membership:
    """Replace a member's console roles only (:func:`set_roles` with the sections unchanged)."""
    return set_roles(contract_id, account_or_login, None, roles, actor=actor).membership


def remove_member(contract_id: str, account_or_login: Account | str, *, actor: Account | None = None) -> bool:
    """Remove a person from a contract: never its referent, never its last users manager.

    Their console user goes first (API password, Keystone tokens, access keys), the tokens
    that carried this contract's roles die, the person is mailed. A person left with no
    contract is disabled, not deleted (``accounts``): their sessions end, their tokens are
    revoked, their open invitations closed. Returns whether the account was disabled.
    """
    contract = lock_contract(contract_id)
    membership = membership_of(contract.id, account_or_login)
    if _is_referent(membership):
        raise ReferentProtected("the referent of a contract cannot be removed from it")
    _keeps_a_users_manager(membership, None)
    account = membership.account
    membership.console_roles = []
    db.session.flush()
    console_users.sync(membership)
    db.session.delete(membership)
    db.session.flush()
    _membership_changed(account.id, contract.id)
    audit.record(audit.EventTag.MEMBER_REMOVED, account.id, actor=_actor_name(actor), contract=contract.id)
    disabled = accounts.disable_if_orphaned(account, actor=_actor_name(actor))
    if disabled:
        invitations.revoke_all_of(account.id)
    notices.send_membership_ended(account, contract, disabled=disabled, actor=actor)
    return disabled
