"""Directory changes (SPEC §2): each function is one transaction's worth of work.

Callers commit; every function validates everything before it writes anything, so a
refused change leaves the database as it was. What a change means elsewhere (tokens that
carried removed roles, sessions of a removed account) is announced with ``idp.events``.

Here: identities, contracts and additions. Changing roles and removing members is
``directory.members`` (:func:`set_roles`, :func:`remove_member`, re-exported here so that
every caller — the command line, the management API, the portal's pages — finds the
directory's acts in one place); what an account left with no contract becomes is
``directory.accounts``; the emails are ``directory.notices``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from idp.directory import accounts
from idp.directory import console_users
from idp.directory import invitations
from idp.directory import members
from idp.directory import notices
from idp.directory.members import RolesChange
from idp.directory.members import check_console_roles
from idp.directory.members import remove_member
from idp.directory.members import set_console_roles
from idp.directory.members import set_roles
from idp.directory.models import Account
from idp.directory.models import Civility
from idp.directory.models import ConsoleGroup
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.directory.models import Offer
from idp.directory.notices import send_access_email
from idp.directory.roles import BUILTIN_CONSOLE_ROLES
from idp.directory.roles import Level
from idp.directory.roles import default_roles
from idp.directory.roles import has_console
from idp.directory.roles import referent_console_roles
from idp.directory.roles import referent_roles
from idp.errors import Conflict
from idp.errors import NotFound
from idp.errors import ValidationError
from idp.extensions import db
from idp.security import audit
from idp.security import canonical

# The directory's acts, wherever they live (module docstring).
__all__ = [
    "AddResult",
    "Identity",
    "RolesChange",
    "add_console_group",
    "add_member",
    "check_console_roles",
    "create_contract",
    "find_account",
    "remove_member",
    "send_access_email",
    "set_console_roles",
    "set_roles",
]

LOGIN_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")
CONTRACT_RE = canonical.COMPANY_ACCOUNT_RE
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# ASCII only (RFC 5322 atext and dots): addresses are compared case-folded, and a local part
# such as "straße" would fold onto another person's "strasse" (one account, two mailboxes).
EMAIL_RE = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")
PHONE_RE = re.compile(r"\+?[0-9 .()-]{6,24}")
SIRET_RE = re.compile(r"\d{14}")
GROUP_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class Identity:
    """What a form or a command says about a person."""

    login: str
    email: str
    first_name: str
    last_name: str
    landline: str | None = None
    mobile: str | None = None
    civility: str | None = None
    language: str = "fr"


@dataclass
class AddResult:
    """What adding a person did: a membership at once (a new identity, a disabled one enabled
    again, or a contract's referent), or an invitation to an identity that already exists."""

    membership: Membership | None
    account_created: bool
    invitation: invitations.Invitation | None = None
    # A disabled account (left with no contract) that this addition made active again.
    enabled_again: bool = False


canonical_email = canonical.email


def validate_identity(identity: Identity) -> Identity:
    """Check the SPEC §2 rules; return the identity with surrounding spaces removed."""
    login = identity.login.strip()
    if not LOGIN_RE.fullmatch(login):
        raise ValidationError("login must be 8 to 64 characters among A-Z a-z 0-9 . _ - (no accents)")
    email = identity.email.strip()
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise ValidationError(f"invalid email address: {email!r}")
    first, last = identity.first_name.strip(), identity.last_name.strip()
    if not first or not last or len(first) > 100 or len(last) > 100:
        raise ValidationError("first and last name are required (100 characters at most)")
    landline = (identity.landline or "").strip() or None
    mobile = (identity.mobile or "").strip() or None
    if not landline and not mobile:
        raise ValidationError("a landline or a mobile phone number is required")
    for number in (landline, mobile):
        if number and not PHONE_RE.fullmatch(number):
            raise ValidationError(f"invalid phone number: {number!r}")
    if identity.civility is not None and identity.civility not in {c.value for c in Civility}:
        raise ValidationError("civility must be madame or monsieur")
    if identity.language not in {"fr", "en"}:
        raise ValidationError("language must be fr or en")
    return Identity(login, email, first, last, landline, mobile, identity.civility, identity.language)


def find_account(login_or_email: str) -> Account | None:
    key = canonical.login(login_or_email)
    return db.session.scalar(select(Account).where((Account.login_canonical == key) | (Account.email_canonical == key)))


def _account_with_email(email: str) -> Account | None:
    return db.session.scalar(select(Account).where(Account.email_canonical == canonical_email(email)))


def _new_account(identity: Identity) -> Account:
    """Create the identity of a person whose email has none (never duplicate a person), and
    mail it the access email."""
    taken = db.session.scalar(select(Account.id).where(Account.login_canonical == canonical.login(identity.login)))
    if taken:
        raise Conflict(f"login {identity.login!r} is already taken")
    account = Account(
        login=identity.login,
        login_canonical=canonical.login(identity.login),
        email=identity.email,
        email_canonical=canonical_email(identity.email),
        first_name=identity.first_name,
        last_name=identity.last_name,
        landline=identity.landline,
        mobile=identity.mobile,
        civility=identity.civility,
        language=identity.language,
    )
    db.session.add(account)
    db.session.flush()
    audit.record(audit.EventTag.ACCOUNT_CREATED, account.id)
    notices.send_access_email(account)
    return account


def create_contract(
    *,
    contract_id: str,
    name: str,
    offer: str,
    company_name: str,
    referent: Identity,
    platform_id: str | None = None,
    siret: str | None = None,
    exist_ok: bool = False,
) -> tuple[Contract, AddResult | None]:
    """Create a contract with its referent, who gets the referent roles of the offer (SPEC §2:
    on Flexible Engine the eight sections and console ``admin``, with the console access
    email; on Flexible Computing Advanced its five sections, no console).

    A referent email that already has an account makes that identity the referent at once,
    with no invitation (unlike :func:`add_member`): only the operator creates contracts, a
    contract cannot exist a moment without its referent, and the operator who names a
    referent is the one who vouches for that person. That login is the result's. A disabled
    one is enabled again as a new identity would be (``accounts``).

    With ``exist_ok``, asking again for the same contract is a no-op (result None);
    a contract of that id with other data is still a conflict.
    """
    if not CONTRACT_RE.fullmatch(contract_id):
        raise ValidationError("company account must be OCB followed by 6 or 7 digits, e.g. OCB0000124")
    if offer not in {o.value for o in Offer}:
        raise ValidationError(f"offer must be one of: {', '.join(o.value for o in Offer)}")
    if not name.strip() or not company_name.strip():
        raise ValidationError("contract name and company name are required")
    if siret is not None and not SIRET_RE.fullmatch(siret):
        raise ValidationError("SIRET must be 14 digits")
    referent = validate_identity(referent)
    existing = db.session.get(Contract, contract_id)
    if existing is not None:
        same = (
            existing.name == name.strip()
            and existing.offer == offer
            and existing.company_name == company_name.strip()
            and existing.referent.email_canonical == canonical_email(referent.email)
        )
        if exist_ok and same:
            return existing, None
        raise Conflict(f"contract {contract_id} already exists with other details")
    existing_account = _account_with_email(referent.email)
    enabled_again = False
    if existing_account is not None and accounts.enable_again(existing_account):
        enabled_again = True
        notices.send_access_email(existing_account)
    account = existing_account or _new_account(referent)
    accounts.lock(account.id, activate=True)
    contract = Contract(
        id=contract_id,
        name=name.strip(),
        offer=offer,
        company_name=company_name.strip(),
        platform_id=platform_id,
        siret=siret,
        referent_account_id=account.id,
    )
    db.session.add(contract)
    membership = Membership(account=account, contract=contract)
    membership.set_section_roles(referent_roles(offer))
    membership.console_roles = [MembershipConsoleRole(role=r) for r in referent_console_roles(offer)]
    db.session.add(membership)
    db.session.flush()
    console_users.sync(membership)
    audit.record(audit.EventTag.CONTRACT_CREATED, account.id, contract=contract_id)
    return contract, AddResult(membership, existing_account is None, enabled_again=enabled_again)


def add_member(
    contract_id: str,
    identity: Identity,
    roles: Mapping[str, Level | str] | None = None,
    console_roles: Sequence[str] | None = None,
    inviter: Account | None = None,
) -> AddResult:
    """Declare a person on a contract (the command line, the management API and the portal's
    pages), with the roles named (the others at the offer's defaults), validated per offer.

    A new email makes a new identity, a member at once, mailed the access email (and the
    console access email when it has console roles). An email that already has an account
    never grants roles by itself (SPEC §2): whoever controls that account would get this
    contract's roles without anyone of it having met them. The roles wait in an invitation
    mailed to the account (``invitations``), and the caller learns only that an invitation
    went to the address it typed, never the login that owns it (the login, names and
    phones it typed are not used then). A *disabled* account (left with no contract) is
    enabled again and made a member at once, as a new identity (``accounts``, why).
    """
    contract = db.session.get(Contract, canonical.company_account(contract_id))
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    identity = validate_identity(identity)
    wanted = default_roles(contract.offer) | members.check_section_roles(contract.offer, roles or {})
    console = check_console_roles(contract, console_roles or [])
    actor = inviter.login if inviter is not None else None
    existing = _account_with_email(identity.email)
    if existing is not None and not existing.is_active:
        if accounts.enable_again(existing, actor=actor):
            notices.send_access_email(existing)  # before the console access email, as for a new identity
            membership = invitations.grant(existing, contract, wanted, console, actor)
            return AddResult(membership, account_created=False, enabled_again=True)
        existing = _account_with_email(identity.email)  # enabled (or purged) in the meantime
    if existing is None:
        membership = invitations.grant(_new_account(identity), contract, wanted, console, actor)
        return AddResult(membership, account_created=True)
    already = db.session.scalar(
        select(Membership.id).where(Membership.account_id == existing.id, Membership.contract_id == contract.id)
    )
    if already:
        raise Conflict(f"{identity.email} is already a member of {contract.id}")
    invitation = invitations.invite(contract, existing, identity.email, wanted, console, inviter)
    return AddResult(None, account_created=False, invitation=invitation)


def add_console_group(contract_id: str, name: str) -> ConsoleGroup:
    """Create a custom console group, usable as a console role on this contract only."""
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    if not has_console(contract.offer):
        raise members.ConsoleNotOffered(f"{contract.id} is a {contract.offer} contract: it has no console groups")
    name = name.strip()
    if not GROUP_RE.fullmatch(name) or name in BUILTIN_CONSOLE_ROLES:
        raise ValidationError(f"invalid console group name {name!r}")
    if any(g.name == name for g in contract.console_groups):
        raise Conflict(f"console group {name!r} already exists on {contract.id}")
    group = ConsoleGroup(contract=contract, name=name)
    db.session.add(group)
    db.session.flush()
    return group
