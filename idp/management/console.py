"""A Flexible Engine contract's console users and console groups (FE §5.9.2, §5.9.1.2.1).

The *Console users* tab shows the members holding a console role; adding from there offers
the console roles only (the sections get the offer's defaults), and changing roles from
there changes the console roles only, at least one (FE §5.9.2.4: the field is mandatory;
removing a person is done from the *Customer Area users* tab). On a contract whose offer has
no console every route here is a 404 ``no_console`` (``views.authorised``).
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.directory import members
from idp.directory import service
from idp.directory.models import ConsoleGroup
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.directory.roles import BUILTIN_CONSOLE_ROLES
from idp.extensions import db
from idp.management import idempotency
from idp.management import payloads
from idp.management import presenters
from idp.management import users
from idp.management.errors import ApiError
from idp.management.rights import Action
from idp.management.views import authorised
from idp.management.views import bp
from idp.management.views import caller
from idp.management.views import listing
from idp.management.views import member
from idp.management.views import members_page
from idp.management.views import ok

NOT_CONSOLE_USER = _l("This user has no console role on this contract.")
NO_GROUP = _l("This contract has no console group of this name.")
GROUP_EXISTS = _l("This contract already has a console group of this name.")


@bp.get("/contracts/<contract_id>/console-users")
def list_console_users(contract_id: str) -> ResponseReturnValue:
    page = payloads.page()
    mine = authorised(contract_id, Action.CONSOLE_USERS_SEARCH if page.q else Action.CONSOLE_USERS_VIEW)
    rows, total = members_page(mine.contract_id, page, console_only=True)
    return ok(listing([presenters.console_user(m) for m in rows], page, total))


def _console_member(contract_id: str, login: str) -> Membership:
    target = member(contract_id, login)
    if not target.is_console_user:
        raise ApiError(404, "user_not_found", NOT_CONSOLE_USER)
    return target


@bp.get("/contracts/<contract_id>/console-users/<login>")
def get_console_user(contract_id: str, login: str) -> ResponseReturnValue:
    """A console user's profile on the console (FE §5.9.2.3), read-only."""
    mine = authorised(contract_id, Action.CONSOLE_USERS_VIEW)
    return ok(presenters.console_user(_console_member(mine.contract_id, login)))


@bp.post("/contracts/<contract_id>/console-users")
def add_console_user(contract_id: str) -> ResponseReturnValue:
    """Add a user from the *Console users* tab (FE §5.9.2.2): identity and console roles."""
    mine = authorised(contract_id, Action.CONSOLE_USERS_ADD)
    idempotency.key_from_request()
    data = payloads.body_object(users.CONSOLE_ADD_FIELDS)
    console = payloads.console_roles(mine.contract, data.get("console_roles"), required=True)
    return idempotency.run(caller().account.id, data, lambda: users.add(mine, data, None, console))


@bp.put("/contracts/<contract_id>/console-users/<login>/roles")
def set_console_user_roles(contract_id: str, login: str) -> ResponseReturnValue:
    """Change a console user's console roles (FE §5.9.2.4); their section roles stay."""
    mine = authorised(contract_id, Action.CONSOLE_USERS_SET_ROLES)
    data = payloads.body_object(("console_roles",))
    console = payloads.console_roles(mine.contract, data.get("console_roles"), required=True)
    target = _console_member(mine.contract_id, login)
    change = service.set_roles(mine.contract_id, target.account, None, console, actor=caller().account)
    db.session.commit()
    return ok(presenters.console_user(change.membership))


def _group_json(group: ConsoleGroup) -> dict[str, str]:
    return {"name": group.name}


@bp.get("/contracts/<contract_id>/console-groups")
def list_console_groups(contract_id: str) -> ResponseReturnValue:
    mine = authorised(contract_id, Action.CONSOLE_GROUPS_VIEW)
    groups = db.session.scalars(
        select(ConsoleGroup).where(ConsoleGroup.contract_id == mine.contract_id).order_by(ConsoleGroup.name)
    )
    return ok({"builtin_roles": list(BUILTIN_CONSOLE_ROLES), "items": [_group_json(g) for g in groups]})


@bp.post("/contracts/<contract_id>/console-groups")
def create_console_group(contract_id: str) -> ResponseReturnValue:
    """A custom group, offered as a console role of this contract (console admin only)."""
    mine = authorised(contract_id, Action.CONSOLE_GROUPS_CREATE)
    idempotency.key_from_request()
    data = payloads.body_object(("name",))
    name = payloads.group_name(data)

    def create() -> tuple[dict[str, str], int]:
        taken = db.session.scalar(
            select(ConsoleGroup.id).where(ConsoleGroup.contract_id == mine.contract_id, ConsoleGroup.name == name)
        )
        if taken is not None:
            raise ApiError(409, "group_exists", GROUP_EXISTS, field="name")
        return _group_json(service.add_console_group(mine.contract_id, name)), 201

    return idempotency.run(caller().account.id, data, create)


@bp.delete("/contracts/<contract_id>/console-groups/<name>")
def delete_console_group(contract_id: str, name: str) -> ResponseReturnValue:
    """Delete a custom group: the members holding it as a console role lose that role
    (the directory updates their console users)."""
    mine = authorised(contract_id, Action.CONSOLE_GROUPS_DELETE)
    group = db.session.scalar(
        select(ConsoleGroup).where(ConsoleGroup.contract_id == mine.contract_id, ConsoleGroup.name == name)
    )
    if group is None:
        raise ApiError(404, "group_not_found", NO_GROUP)
    members.lock_contract(mine.contract_id)  # no one is given the group while it goes
    holders = db.session.scalars(
        select(Membership)
        .where(Membership.contract_id == mine.contract_id)
        .where(Membership.console_roles.any(MembershipConsoleRole.role == name))
    )
    for holder in list(holders):
        remaining = [r for r in holder.console_role_names if r != name]
        service.set_roles(mine.contract_id, holder.account, None, remaining, actor=caller().account)
    db.session.delete(group)
    db.session.commit()
    return "", 204
