"""Every cell of the guides' rights tables, through the management API.

The expected marks are written here from the guides themselves (FCA §4.7.5, FE §5.2.2,
§5.9.1.4, §5.9.2.5), not read from ``idp.management.rights``, so a wrong row there fails here.
Each profile is one member of the contract; each action is a real call; an action the table
does not mark for the profile is a 403 with the API's error body.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from idp.directory import service
from idp.extensions import db
from tests import factories
from tests.integration import management_support as ms

# Profiles: the columns of the tables, each held by a member with these roles.
PROFILES: dict[str, tuple[dict[str, str], list[str]]] = {
    "none": ({"users": "none", "contract": "visitor"}, []),
    "visitor": ({"users": "visitor", "contract": "visitor"}, []),
    "manager": ({"users": "manager", "contract": "visitor"}, []),
    "console_admin": ({"users": "none", "contract": "visitor"}, ["admin"]),
    "contract_manager": ({"users": "none", "contract": "manager"}, []),
}
ALL = set(PROFILES)

# The guides' X marks, row by row.
EXPECTED: dict[str, set[str]] = {
    "contract:view": ALL,
    # FE §5.2.2: View paragraph "Company" — Manager (of the Contract section) only.
    "contract:company": {"contract_manager"},
    # FCA §4.7.5 / FE §5.9.1.4: view and search — Visitor, Manager; the rest — Manager.
    # FE §5.9.1: "The Flexible Engine Console Manager profile does not have access to the Users tab".
    "users:view": {"visitor", "manager"},
    "users:search": {"visitor", "manager"},
    "users:add": {"manager"},
    "users:set_roles": {"manager"},
    "users:remove": {"manager"},
    # FE §5.9.2.5: Visitor, Console Manager, Customer Area Manager / Console Manager, Customer Area Manager.
    "console_users:view": {"visitor", "console_admin", "manager"},
    "console_users:search": {"visitor", "console_admin", "manager"},
    "console_users:add": {"console_admin", "manager"},
    "console_users:set_roles": {"console_admin", "manager"},
    # FE §5.9.1.2.1: groups are created by a console admin; whoever sees the tab sees them.
    "console_groups:view": {"visitor", "console_admin", "manager"},
    "console_groups:create": {"console_admin"},
    "console_groups:delete": {"console_admin"},
}

_fresh = itertools.count()


def _setup(app: Flask, profile: str) -> tuple[ms.Api, Callable[[], str]]:
    """The FE contract (its referent paul), targets to act on, and the caller of ``profile``."""
    with app.app_context():
        factories.contract_with_referent()
        service.add_console_group(ms.FE, "network-ops")
        db.session.commit()
    portal = ms.register_portal(app)
    roles, console = PROFILES[profile]
    me = ms.person(app, ms.FE, "me.profile", roles, console)
    ms.person(app, ms.FE, "target.user", {"support": "visitor"})
    ms.person(app, ms.FE, "console.target", {}, ["guest"])

    def removable() -> str:
        login = f"removable.{next(_fresh):04d}"
        ms.person(app, ms.FE, login)
        return login

    return ms.api_for(app, me, portal), removable


def _calls(api: ms.Api, removable: Callable[[], str]) -> dict[str, Callable[[], list[Any]]]:
    c = f"/contracts/{ms.FE}"
    n = itertools.count()
    return {
        "contract:view": lambda: [api.get(c)],
        "users:view": lambda: [api.get(f"{c}/users"), api.get(f"{c}/users/target.user")],
        "users:search": lambda: [api.get(f"{c}/users?q=target")],
        "users:add": lambda: [api.post(f"{c}/users", ms.new_user(f"added.user{next(n)}"), key=f"k{next(n)}")],
        "users:set_roles": lambda: [api.put(f"{c}/users/target.user/roles", {"roles": {"support": "manager"}})],
        "users:remove": lambda: [api.delete(f"{c}/users/{removable()}")],
        "console_users:view": lambda: [api.get(f"{c}/console-users"), api.get(f"{c}/console-users/console.target")],
        "console_users:search": lambda: [api.get(f"{c}/console-users?q=console")],
        "console_users:add": lambda: [
            api.post(
                f"{c}/console-users", ms.new_user(f"console.add{next(n)}", console_roles=["guest"]), key=f"k{next(n)}"
            )
        ],
        "console_users:set_roles": lambda: [
            api.put(f"{c}/console-users/console.target/roles", {"console_roles": ["guest", "power_user"]})
        ],
        "console_groups:view": lambda: [api.get(f"{c}/console-groups")],
        "console_groups:create": lambda: [
            api.post(f"{c}/console-groups", {"name": f"team-{next(n)}"}, key=f"k{next(n)}")
        ],
        "console_groups:delete": lambda: [api.delete(f"{c}/console-groups/network-ops")],
    }


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_cell_of_the_rights_tables_on_a_flexible_engine_contract(app: Flask, profile: str) -> None:
    api, removable = _setup(app, profile)
    calls = _calls(api, removable)
    wrong = []
    for action, allowed in EXPECTED.items():
        if action == "contract:company":
            shown = "company" in api.get(f"/contracts/{ms.FE}").get_json()
            if shown != (profile in allowed):
                wrong.append((action, "company block shown" if shown else "company block missing"))
            continue
        for response in calls[action]():
            if profile in allowed:
                if response.status_code >= 300:
                    wrong.append((action, response.status_code, response.get_data(as_text=True)[:200]))
            elif response.status_code != 403 or ms.error_of(response, 403) != "forbidden":
                wrong.append((action, response.status_code, response.get_data(as_text=True)[:200]))
    assert not wrong, f"{profile}: {wrong}"
    # The contract page tells the portal the same marks (the buttons it shows).
    listed = set(api.get(f"/contracts/{ms.FE}").get_json()["allowed"])
    assert listed == {a for a, allowed in EXPECTED.items() if profile in allowed}


FCA_PROFILES = {k: v for k, v in PROFILES.items() if k in {"none", "visitor", "manager"}}


@pytest.mark.parametrize("profile", list(FCA_PROFILES))
def test_the_users_table_on_a_flexible_computing_advanced_contract(app: Flask, profile: str) -> None:
    """Five sections, the same Users table, no console routes (404 no_console for everyone),
    and no Contract section: its page's Company block is every member's (FCA §4.2)."""
    ms.fca_contract(app)
    portal = ms.register_portal(app)
    roles, _ = FCA_PROFILES[profile]
    me = ms.person(app, ms.FCA, "me.profile", {"users": roles["users"]})
    ms.person(app, ms.FCA, "target.user")
    ms.person(app, ms.FCA, "other.target")
    api = ms.api_for(app, me, portal)
    c = f"/contracts/{ms.FCA}"
    calls = {
        "users:view": [lambda: api.get(f"{c}/users"), lambda: api.get(f"{c}/users/target.user")],
        "users:search": [lambda: api.get(f"{c}/users?q=target")],
        "users:add": [lambda: api.post(f"{c}/users", ms.new_user("added.user1"))],
        "users:set_roles": [lambda: api.put(f"{c}/users/target.user/roles", {"roles": {"support": "manager"}})],
        "users:remove": [lambda: api.delete(f"{c}/users/other.target")],
    }
    for action, makers in calls.items():
        for make in makers:
            response = make()
            if profile in EXPECTED[action]:
                assert response.status_code < 300, (action, response.get_json())
            else:
                assert ms.error_of(response, 403) == "forbidden", action
    detail = api.get(c).get_json()
    assert "company" in detail
    assert [s["name"] for s in detail["role_choices"]["sections"]] == [
        "dashboard",
        "services",
        "invoices",
        "support",
        "users",
    ]
    assert detail["role_choices"]["console_roles"] is None
    for response in (
        api.get(f"{c}/console-users"),
        api.get(f"{c}/console-users/target.user"),
        api.post(f"{c}/console-users", ms.new_user("console.user1", console_roles=["guest"])),
        api.put(f"{c}/console-users/target.user/roles", {"console_roles": ["guest"]}),
        api.get(f"{c}/console-groups"),
        api.post(f"{c}/console-groups", {"name": "team"}),
        api.delete(f"{c}/console-groups/team"),
    ):
        assert ms.error_of(response, 404) == "no_console"
