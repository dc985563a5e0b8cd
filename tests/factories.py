"""Directory factories built through the real service functions (no shortcuts past rules)."""

from __future__ import annotations

from dataclasses import dataclass

from idp.directory import service
from idp.extensions import db
from idp.security import new_password

PASSWORD = "Strong#Pass-2026"


@dataclass(frozen=True)
class Person:
    login: str
    email: str
    password: str
    account_id: int


def identity(login: str, **overrides: str) -> service.Identity:
    fields = {
        "login": login,
        "email": f"{login}@example.test",
        "first_name": login.split(".")[0].title(),
        "last_name": "Dupont",
        "landline": "01 02 03 04 05",
    }
    fields.update(overrides)
    return service.Identity(**fields)  # type: ignore[arg-type]


def contract_with_referent(
    contract_id: str = "OCB0000124", login: str = "paul.dupont", password: str | None = PASSWORD,
    offer: str = "flexible-engine",
) -> Person:
    contract, result = service.create_contract(
        contract_id=contract_id, name="SL_Prod", offer=offer,
        company_name="ACME", referent=identity(login),
    )
    account = result.membership.account
    if password:
        new_password.apply(account, password, new_password.Reason.OPERATOR)
    db.session.commit()
    return Person(account.login, account.email, password or "", account.id)


def member(contract_id: str, login: str, password: str | None = PASSWORD, **kw: object) -> Person:
    result = service.add_member(contract_id, identity(login), **kw)  # type: ignore[arg-type]
    account = result.membership.account
    if password:
        new_password.apply(account, password, new_password.Reason.OPERATOR)
    db.session.commit()
    return Person(account.login, account.email, password or "", account.id)
