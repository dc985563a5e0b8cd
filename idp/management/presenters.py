"""What the management API answers about contracts and their users (the shapes of
``openapi.py``). Roles are shown for the sections of the contract's offer only; console
roles only on an offer with the console."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from idp.directory.models import Membership
from idp.directory.roles import has_console
from idp.directory.roles import sections_for
from idp.directory.roles import shown
from idp.management import rights
from idp.management.payloads import console_choices


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _roles(membership: Membership) -> dict[str, str]:
    return {name: level.value for name, level in shown(membership.contract.offer, membership.section_roles()).items()}


def _console(membership: Membership) -> list[str] | None:
    return membership.console_role_names if has_console(membership.contract.offer) else None


def contract_summary(membership: Membership) -> dict[str, Any]:
    """One line of *My contracts* (FCA §4.8.3: name, id, offer, company name, platform id)."""
    contract = membership.contract
    return {
        "id": contract.id,
        "name": contract.name,
        "offer": contract.offer,
        "company_name": contract.company_name,
        "platform_id": contract.platform_id,
        "referent": contract.referent_account_id == membership.account_id,
        "roles": _roles(membership),
        "console_roles": _console(membership),
    }


def role_choices(membership: Membership) -> dict[str, Any]:
    """The choices and defaults of the add wizard's step 2, for this contract's offer."""
    contract = membership.contract
    return {
        "sections": [
            {"name": s.name, "choices": [c.value for c in s.choices], "default": s.default.value}
            for s in sections_for(contract.offer)
        ],
        "console_roles": console_choices(contract) if has_console(contract.offer) else None,
    }


def contract_detail(membership: Membership) -> dict[str, Any]:
    """*Your contract*; its *Company* block only for whom the rights table marks (FE §5.2.2)."""
    contract = membership.contract
    answer: dict[str, Any] = {
        "contract": {
            "id": contract.id,
            "name": contract.name,
            "offer": contract.offer,
            "platform_id": contract.platform_id,
            "created_at": iso(contract.created_at),
            "console": has_console(contract.offer),
        },
        "me": {
            "referent": contract.referent_account_id == membership.account_id,
            "roles": _roles(membership),
            "console_roles": _console(membership),
        },
        "allowed": rights.allowed(membership),
        "role_choices": role_choices(membership),
    }
    if rights.may(membership, rights.Action.CONTRACT_COMPANY):
        referent = contract.referent
        answer["company"] = {
            "company_name": contract.company_name,
            "siret": contract.siret,
            "referent_name": f"{referent.last_name} {referent.first_name}",
            "referent_email": referent.email,
        }
    return answer


def user_row(membership: Membership) -> dict[str, Any]:
    """A line of the Users list (login, names, email, creation; the referent icon)."""
    account = membership.account
    return {
        "login": account.login,
        "civility": account.civility,
        "last_name": account.last_name,
        "first_name": account.first_name,
        "email": account.email,
        "created_at": iso(membership.created_at),
        "referent": membership.contract.referent_account_id == account.id,
        "console_user": has_console(membership.contract.offer) and membership.is_console_user,
    }


def user_detail(membership: Membership) -> dict[str, Any]:
    """One user: the wizard's summary (identity, then roles of the offer's sections)."""
    account = membership.account
    return {
        **user_row(membership),
        "landline": account.landline,
        "mobile": account.mobile,
        "language": account.language,
        "roles": _roles(membership),
        "console_roles": _console(membership),
    }


def console_user(membership: Membership) -> dict[str, Any]:
    """A line of the *Console users* tab: who, and their console roles (FE §5.9.2.3)."""
    return {**user_row(membership), "console_roles": membership.console_role_names}
