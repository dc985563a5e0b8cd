"""Claims per scope (OIDC Core §5.4), plus ``contracts``: the SPEC §2 roles of every contract."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from idp.directory.models import Account
from idp.directory.models import Membership
from idp.extensions import db
from idp.oidc.models import SCOPES

__all__ = ["SCOPES", "company_claims", "console_roles", "contracts_of", "userinfo"]


def contracts_of(account: Account) -> list[dict[str, Any]]:
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.account_id == account.id)
        .options(selectinload(Membership.contract), selectinload(Membership.console_roles))
        .order_by(Membership.contract_id)
    )
    return [
        {
            "id": m.contract.id,
            "name": m.contract.name,
            "offer": m.contract.offer,
            "referent": m.contract.referent_account_id == account.id,
            # Only the sections of the contract's offer (SPEC §2): the others are stored neutral.
            "roles": {section: level.value for section, level in m.shown_roles().items()},
            "console_roles": m.console_role_names,
        }
        for m in memberships
    ]


def userinfo(account: Account, scope: str) -> dict[str, Any]:
    scopes = set((scope or "").split())
    claims: dict[str, Any] = {"sub": account.public_id}
    if "profile" in scopes:
        claims.update(
            name=f"{account.first_name} {account.last_name}",
            given_name=account.first_name,
            family_name=account.last_name,
            preferred_username=account.login,
            locale=account.language,
            updated_at=int(account.updated_at.timestamp()),
        )
    if "email" in scopes:
        # Verified only once a link mailed to this very address was followed (SPEC §2).
        claims.update(email=account.email, email_verified=account.email_verified)
    if "phone" in scopes and (account.mobile or account.landline):
        claims.update(phone_number=account.mobile or account.landline, phone_number_verified=False)
    if "contracts" in scopes:
        claims["contracts"] = contracts_of(account)
    return claims


def console_roles(account: Account, company_account: str) -> list[str] | None:
    """The console roles of ``account`` on that contract; None if it has none there."""
    membership = db.session.scalar(
        select(Membership)
        .where(Membership.account_id == account.id, Membership.contract_id == company_account)
        .options(selectinload(Membership.console_roles))
    )
    if membership is None or not membership.is_console_user:
        return None
    return membership.console_role_names


def company_claims(account: Account, company_account: str | None) -> dict[str, Any]:
    if not company_account:
        return {}
    return {"company_account": company_account, "console_roles": console_roles(account, company_account) or []}
