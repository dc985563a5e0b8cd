"""The emails of directory changes, each written in the transaction of the change it tells.

- ``access``: a new identity (or one enabled again): its login and a button to set a first
  password (the guides' *Set my Orange password*, brand from ``mail.brand``);
- ``console-access`` (FE guide §4, Fig. 9, 13, 14, 44): a console user was provisioned — the
  login, the company account, the address the API password is reset with, a *Set my API
  password* button and the console's address (``api.console_url``);
- ``roles-changed``: a member's roles now, per section in the guides' words, and the console
  roles;
- ``membership-ended``: removed from a contract (and, with no contract left, disabled).
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from idp.directory.models import Account
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.roles import CONSOLE_LABEL
from idp.directory.roles import LEVEL_LABELS
from idp.directory.roles import SECTION_LABELS
from idp.directory.roles import Level
from idp.directory.roles import has_console
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security import email_proof
from idp.settings import Settings


def _settings() -> Settings:
    settings: Settings = current_app.config["IDP_SETTINGS"]
    return settings


def _contract_context(contract: Contract, actor: Account | None) -> dict[str, Any]:
    return {"contract": contract, "actor": actor, "brand": _settings().mail.brand}


def send_access_email(account: Account) -> None:
    """The guides' access email: the login, and a button to set a first password."""
    # Its link proves the address, then leads to the first password (``email_links.verify``).
    proof = email_proof.sign(account.public_id, account.email_canonical)
    link = messages.external_url("email_links.verify", token=proof)
    enqueue(messages.for_account("access", account, link=link, brand=_settings().mail.brand))
    audit.record(audit.EventTag.ACCESS_EMAIL_SENT, account.id)


def send_console_access_email(membership: Membership) -> None:
    """How to reach the console of this contract, sent when its console user is provisioned."""
    account, contract = membership.account, membership.contract
    settings = _settings()
    enqueue(
        messages.for_account(
            "console-access",
            account,
            contract=contract,
            brand=settings.mail.brand,
            console_url=settings.api.console_url,
            link=messages.external_url("api_password.confirm_account", company_account=contract.id),
        )
    )
    audit.record(audit.EventTag.CONSOLE_ACCESS_EMAIL_SENT, account.id, contract=contract.id)


def role_rows(membership: Membership) -> list[tuple[Any, Any]]:
    """(section, level) in the guides' words, for the sections of the contract's offer."""
    return [(SECTION_LABELS[name], LEVEL_LABELS[level]) for name, level in membership.shown_roles().items()]


def send_roles_changed(membership: Membership, actor: Account | None) -> None:
    contract = membership.contract
    console = membership.console_role_names if has_console(contract.offer) else None
    enqueue(
        messages.for_account(
            "roles-changed",
            membership.account,
            rows=role_rows(membership),
            console=console,
            no_access=LEVEL_LABELS[Level.NONE],
            console_label=CONSOLE_LABEL,
            **_contract_context(contract, actor),
        )
    )


def send_membership_ended(account: Account, contract: Contract, *, disabled: bool, actor: Account | None) -> None:
    enqueue(messages.for_account("membership-ended", account, disabled=disabled, **_contract_context(contract, actor)))
