"""Demo data: the seed user guides' example contracts and users (development only)."""

from __future__ import annotations

import os
from datetime import UTC
from datetime import datetime
from pathlib import Path

from idp import clock
from idp.directory import invitations
from idp.directory import service
from idp.directory.models import Contract
from idp.directory.roles import Level
from idp.extensions import db
from idp.oidc import clients as registry
from idp.security import new_password

REFERENT_LOGIN = "paul.dupont"
# A demo password on a loopback demo; `idp demo` refuses to run in production.
DEMO_PASSWORD = "Espace#Client-0124"  # noqa: S105 - published on purpose, for the demo only

V, M = Level.VISITOR, Level.MANAGER


def _person(login: str, first: str, last: str, civility: str, **kw: str) -> service.Identity:
    return service.Identity(
        login=login,
        email=f"{login}@orangecloud.com",
        first_name=first,
        last_name=last,
        civility=civility,
        landline=kw.get("landline", "01 01 01 01 01"),
        mobile=kw.get("mobile"),
        language=kw.get("language", "fr"),
    )


def load() -> bool:
    """Create the demo directory once; return False if it is already there."""
    if db.session.get(Contract, "OCB0000124") is not None:
        return False
    paul = _person(REFERENT_LOGIN, "Paul", "Dupont", "monsieur", mobile="06 01 02 03 04")
    engine, _ = service.create_contract(
        contract_id="OCB0000124",
        name="SL_Prod",
        offer="flexible-engine",
        company_name="ORANGE CLOUD FOR BUSINESS",
        platform_id="362a0365de4033a61b8981f071e",
        siret="50161528000036",
        referent=paul,
    )
    engine.created_at = datetime(2016, 12, 16, tzinfo=UTC)
    _fca, _ = service.create_contract(
        contract_id="OCB0000412",
        name="SI_qualif",
        offer="flexible-computing-advanced",
        company_name="ORANGE CLOUD FOR BUSINESS",
        referent=paul,
    )
    service.add_console_group("OCB0000124", "network-ops")
    members = [
        (
            "OCB0000124",
            _person("pierre.dupont", "Pierre", "Dupont", "monsieur"),
            {"invoices": M, "services": V, "dashboard": V},
            ["power_user"],
        ),
        (
            "OCB0000124",
            _person("jacques.dupont", "Jacques", "Dupont", "monsieur", language="en"),
            {"support": M, "orders": V},
            [],
        ),
        (
            "OCB0000124",
            _person("sophie.dupont", "Sophie", "Dupont", "madame"),
            {"users": M, "orders": V, "subscriptions": V},
            ["guest"],
        ),
        (
            "OCB0000124",
            _person("julie.dupont", "Julie", "Dupont", "madame", landline="0101010101"),
            {"invoices": V, "services": M, "dashboard": V, "users": V},
            [],
        ),
        (
            "OCB0000124",
            _person("johanne.coleno", "Johanne", "Coleno", "madame", language="en"),
            {"services": M},
            ["admin", "network-ops"],
        ),
        ("OCB0000412", _person("sophie.dupont", "Sophie", "Dupont", "madame"), {"invoices": V}, []),
        ("OCB0000412", _person("martin.dupont", "Martin", "Dupont", "monsieur"), {}, []),
    ]
    for contract_id, person, roles, console in members:
        result = service.add_member(contract_id, person, roles, console)
        if result.invitation is not None:  # Sophie, already on OCB0000124: as if she had accepted
            result.invitation.account.email_verified_at = clock.now()  # (from the invitation's link)
            invitations.accept(result.invitation.id, result.invitation.account)
    for login in (REFERENT_LOGIN, "pierre.dupont", "sophie.dupont", "johanne.coleno", "jacques.dupont"):
        account = service.find_account(login)
        assert account is not None
        new_password.apply(account, DEMO_PASSWORD, new_password.Reason.OPERATOR)
    return True


SSO_CLIENTS = {
    "portal": ("Espace Client Cloud", "PORTAL", 5001),
    "console": ("Flexible Engine console", "CONSOLE", 5002),
}


def register_sso_clients(env_file: str, host: str = "127.0.0.1") -> bool:
    """Register the portal and the console (first-party) and write their secrets to
    ``env_file`` (mode 0600) for `make run`; nothing to do if both are already there."""
    path = Path(env_file)
    existing = {c.client_id for c in registry.all_clients()}
    if path.exists() and set(SSO_CLIENTS) <= existing:
        portal = registry.find("portal")
        if portal is not None:
            portal.management_api = True  # registered before the management API existed
        return False
    lines = []
    for client_id, (name, prefix, port) in SSO_CLIENTS.items():
        if client_id in existing:
            registry.delete(client_id)  # its secret is lost with the env file: issue a new one
            db.session.flush()
        base = f"http://{host}:{port}"
        reg = registry.create(
            client_id=client_id,
            name=name,
            redirect_uris=[f"{base}/callback"],
            post_logout_redirect_uris=[f"{base}/"],
            backchannel_logout_uri=f"{base}/backchannel-logout",
            first_party=True,
            console_login=client_id == "console",
            management_api=client_id == "portal",  # the Users pages call the management API
        )
        lines.append(f"{prefix}_CLIENT_SECRET={reg.secret}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return True
