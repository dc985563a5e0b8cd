"""The guides' rights tables, as data: who may do what through the management API.

Each row is a line of a table of the seed guides (its feature, its *X* marks by profile, its
remarks); the columns are :class:`Profile`. Every view asks :func:`require` before it reads
or changes anything, and the contract page lists :func:`allowed` so the portal shows only
the buttons its user may use (the API refuses the others anyway). Changing who may do what
is a change to :data:`RIGHTS`, nowhere else.

Sources: FCA guide §4.7.5 (*Vos droits selon votre profil*, section Utilisateurs), FE guide
§5.2.2 (*Contract* section), §5.9.1.4 (*Customer Area Users*), §5.9.2.5 (*Flexible Engine
Console Users*).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from idp.directory.models import Membership
from idp.directory.roles import Level
from idp.directory.roles import has_console
from idp.directory.roles import sections_for
from idp.management.errors import ApiError

FORBIDDEN = _l("Your roles on this contract do not allow this action.")


class Profile(StrEnum):
    """The columns of the guides' tables, as held by one member of one contract."""

    MEMBER = "member"  # any person declared on the contract
    USERS_NONE = "users:none"  # "Aucun droit / No rights" on the Users section
    USERS_VISITOR = "users:visitor"  # "Visiteur / Visitor"
    USERS_MANAGER = "users:manager"  # "Gestionnaire / Manager" ("Customer Area Manager", FE §5.9.2.5)
    CONTRACT_MANAGER = "contract:manager"  # "Manager" of the Contract section (FE §5.2.2)
    CONSOLE_MANAGER = "console:admin"  # "Console Manager" (FE §5.9.2.5): the console role admin


class Action(StrEnum):
    CONTRACT_VIEW = "contract:view"
    CONTRACT_COMPANY = "contract:company"
    USERS_VIEW = "users:view"
    USERS_SEARCH = "users:search"
    USERS_ADD = "users:add"
    USERS_SET_ROLES = "users:set_roles"
    USERS_REMOVE = "users:remove"
    CONSOLE_USERS_VIEW = "console_users:view"
    CONSOLE_USERS_SEARCH = "console_users:search"
    CONSOLE_USERS_ADD = "console_users:add"
    CONSOLE_USERS_SET_ROLES = "console_users:set_roles"
    CONSOLE_GROUPS_VIEW = "console_groups:view"
    CONSOLE_GROUPS_CREATE = "console_groups:create"
    CONSOLE_GROUPS_DELETE = "console_groups:delete"


@dataclass(frozen=True)
class Right:
    feature: str  # the guide's wording of the row
    profiles: frozenset[Profile]  # the columns marked X
    source: str
    remarks: str = ""
    console: bool = False  # only on a contract whose offer has the console (Flexible Engine)


def _right(feature: str, source: str, *profiles: Profile, remarks: str = "", console: bool = False) -> Right:
    return Right(feature, frozenset(profiles), source, remarks, console)


P = Profile
USERS_READ = (P.USERS_VISITOR, P.USERS_MANAGER)
CONSOLE_READ = (P.USERS_VISITOR, P.CONSOLE_MANAGER, P.USERS_MANAGER)
CONSOLE_WRITE = (P.CONSOLE_MANAGER, P.USERS_MANAGER)

RIGHTS: dict[Action, Right] = {
    Action.CONTRACT_VIEW: _right("Your contract (summary)", "FCA §4.2, FE §5.2.1", P.MEMBER),
    Action.CONTRACT_COMPANY: _right(
        'View paragraph "Company"',
        "FE §5.2.2",
        P.CONTRACT_MANAGER,
        remarks="An offer without a Contract section (FCA) restricts nothing there (FCA §4.2): every member "
        "holds Contract manager for it.",
    ),
    # FCA §4.7.5 and FE §5.9.1.4: the same table. The Console Manager has no access to this tab.
    Action.USERS_VIEW: _right("View user information", "FCA §4.7.5, FE §5.9.1.4", *USERS_READ),
    Action.USERS_SEARCH: _right("Search for a user", "FCA §4.7.5, FE §5.9.1.4", *USERS_READ),
    Action.USERS_ADD: _right("Add a new user", "FCA §4.7.5, FE §5.9.1.4", P.USERS_MANAGER),
    Action.USERS_SET_ROLES: _right("Modify a user's roles", "FCA §4.7.5, FE §5.9.1.4", P.USERS_MANAGER),
    Action.USERS_REMOVE: _right(
        "Delete a user",
        "FCA §4.7.5, FE §5.9.1.4",
        P.USERS_MANAGER,
        remarks="Never the referent (the user with the referent icon), nor the last users manager "
        "(the directory refuses both: 409).",
    ),
    # FE §5.9.2.5: Visitor, Console Manager, Customer Area Manager.
    Action.CONSOLE_USERS_VIEW: _right("View the user information", "FE §5.9.2.5", *CONSOLE_READ, console=True),
    Action.CONSOLE_USERS_SEARCH: _right("Search for a user", "FE §5.9.2.5", *CONSOLE_READ, console=True),
    Action.CONSOLE_USERS_ADD: _right(
        "Add a new user",
        "FE §5.9.2.5",
        *CONSOLE_WRITE,
        remarks='The user will also be visible in the tab "Customer area users" (console roles only are offered).',
        console=True,
    ),
    Action.CONSOLE_USERS_SET_ROLES: _right("Modify a user's roles", "FE §5.9.2.5", *CONSOLE_WRITE, console=True),
    # Not a row of the guides' tables: the groups are the console roles offered by the add
    # form (seen by whoever sees that tab), and only a console admin creates them (FE §5.9.1.2.1).
    Action.CONSOLE_GROUPS_VIEW: _right("View the console groups", "FE §5.9.1.2.1", *CONSOLE_READ, console=True),
    Action.CONSOLE_GROUPS_CREATE: _right(
        "Create a console group", "FE §5.9.1.2.1", P.CONSOLE_MANAGER, remarks="admin role only", console=True
    ),
    Action.CONSOLE_GROUPS_DELETE: _right(
        "Delete a console group", "FE §5.9.1.2.1", P.CONSOLE_MANAGER, remarks="admin role only", console=True
    ),
}

_USERS_PROFILE = {Level.NONE: P.USERS_NONE, Level.VISITOR: P.USERS_VISITOR, Level.MANAGER: P.USERS_MANAGER}


def profiles_of(membership: Membership) -> frozenset[Profile]:
    """The columns of the tables this member holds on their contract."""
    offer = membership.contract.offer
    roles = membership.section_roles()
    held = {P.MEMBER, _USERS_PROFILE[roles["users"]]}
    offered = {s.name for s in sections_for(offer)}
    if "contract" not in offered or roles["contract"] == Level.MANAGER:
        held.add(P.CONTRACT_MANAGER)
    if has_console(offer) and "admin" in membership.console_role_names:
        held.add(P.CONSOLE_MANAGER)
    return frozenset(held)


def applies(action: Action, offer: str) -> bool:
    """Whether the action exists at all on a contract of this offer (console rows need it)."""
    return not RIGHTS[action].console or has_console(offer)


def may(membership: Membership, action: Action) -> bool:
    right = RIGHTS[action]
    return applies(action, membership.contract.offer) and bool(right.profiles & profiles_of(membership))


def allowed(membership: Membership) -> list[str]:
    """Every action this member may take on their contract, for the portal's buttons."""
    held = profiles_of(membership)
    offer = membership.contract.offer
    return [a.value for a, right in RIGHTS.items() if applies(a, offer) and right.profiles & held]


def require(membership: Membership, action: Action) -> None:
    """Refuse (403, the API's error body) an action the member's profiles do not mark."""
    if not may(membership, action):
        raise ApiError(403, "forbidden", FORBIDDEN)
