"""Directory changes (SPEC §2): each function is one transaction's worth of work.

Callers commit; every function validates everything before it writes anything, so a
refused change leaves the database as it was. What a change means elsewhere (tokens that
carried removed roles, sessions of a removed account) is announced with ``idp.events``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from idp import events
from idp.directory import console_users
from idp.directory import invitations
from idp.directory.models import Account
from idp.directory.models import Civility
from idp.directory.models import ConsoleGroup
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.directory.models import Offer
from idp.directory.roles import BUILTIN_CONSOLE_ROLES
from idp.directory.roles import REFERENT_CONSOLE_ROLES
from idp.directory.roles import Level
from idp.directory.roles import default_roles
from idp.directory.roles import referent_roles
from idp.errors import Conflict
from idp.errors import NotFound
from idp.errors import ValidationError
from idp.extensions import db
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security import canonical
from idp.security import email_proof

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
    """What adding a person did: a membership at once (a new identity, or a contract's
    referent), or an invitation to an identity that already exists."""

    membership: Membership | None
    account_created: bool
    invitation: invitations.Invitation | None = None


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
    send_access_email(account)
    return account


def send_access_email(account: Account) -> None:
    """The guides' access email: the login, and a button to set a first password."""
    # Its link proves the address, then leads to the first password (``email_links.verify``).
    proof = email_proof.sign(account.public_id, account.email_canonical)
    link = messages.external_url("email_links.verify", token=proof)
    enqueue(messages.for_account("access", account, link=link))
    audit.record(audit.EventTag.ACCESS_EMAIL_SENT, account.id)


def check_console_roles(contract: Contract, roles: list[str]) -> list[str]:
    """Built-in roles and the contract's own groups are valid; anything else is refused."""
    groups = {g.name for g in contract.console_groups}
    unknown = [r for r in roles if r not in BUILTIN_CONSOLE_ROLES and r not in groups]
    if unknown:
        raise ValidationError(
            f"unknown console role {unknown[0]!r} for {contract.id} "
            f"(built-in: {', '.join(BUILTIN_CONSOLE_ROLES)}; groups: {', '.join(sorted(groups)) or 'none'})"
        )
    return sorted(set(roles))


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
    """Create a contract with its referent, who gets the referent roles of SPEC §2.

    A referent email that already has an account makes that identity the referent at once,
    with no invitation (unlike :func:`add_member`): only the operator creates contracts, a
    contract cannot exist a moment without its referent, and the operator who names a
    referent is the one who vouches for that person. That login is the result's.

    With ``exist_ok``, asking again for the same contract is a no-op (result None);
    a contract of that id with other data is still a conflict.
    """
    if not CONTRACT_RE.fullmatch(contract_id):
        raise ValidationError("company account must be OCB followed by 7 digits, e.g. OCB0000124")
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
    account = existing_account or _new_account(referent)
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
    membership.set_section_roles(referent_roles())
    membership.console_roles = [MembershipConsoleRole(role=r) for r in REFERENT_CONSOLE_ROLES]
    db.session.add(membership)
    db.session.flush()
    _sync_console_user(membership)
    audit.record(audit.EventTag.CONTRACT_CREATED, account.id, contract=contract_id)
    return contract, AddResult(membership, existing_account is None)


def add_member(
    contract_id: str,
    identity: Identity,
    roles: dict[str, Level] | None = None,
    console_roles: list[str] | None = None,
    inviter: Account | None = None,
) -> AddResult:
    """Declare a person on a contract (the command line now; the management API and the
    portal's pages call this too).

    A new email makes a new identity, a member at once, mailed the access email. An email
    that already has an account never grants roles by itself (SPEC §2): whoever controls
    that account would get this contract's roles without anyone of it having met them. The
    roles wait in an invitation mailed to the account (``invitations``), and the caller
    learns only that an invitation went to the address it typed, never the login that
    owns it (the login, names and phones it typed are not used then).
    """
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    identity = validate_identity(identity)
    console = check_console_roles(contract, console_roles or [])
    wanted = {**default_roles(), **(roles or {})}
    existing = _account_with_email(identity.email)
    if existing is None:
        membership = invitations.grant(_new_account(identity), contract, wanted, console)
        return AddResult(membership, account_created=True)
    already = db.session.scalar(
        select(Membership.id).where(Membership.account_id == existing.id, Membership.contract_id == contract_id)
    )
    if already:
        raise Conflict(f"{identity.email} is already a member of {contract_id}")
    invitation = invitations.invite(contract, existing, identity.email, wanted, console, inviter)
    return AddResult(None, account_created=False, invitation=invitation)


def _sync_console_user(membership: Membership) -> None:
    console_users.sync(membership)


def _membership(contract_id: str, login: str) -> Membership:
    membership = db.session.scalar(
        select(Membership)
        .join(Account)
        .where(Membership.contract_id == contract_id, Account.login_canonical == canonical.login(login))
    )
    if membership is None:
        raise NotFound(f"{login} is not a member of {contract_id}")
    return membership


def set_console_roles(contract_id: str, login: str, roles: list[str]) -> Membership:
    """Replace a member's console roles. The referent keeps ``admin``. Removing the last
    one removes the console user: API password, tokens and access keys go with it."""
    membership = _membership(contract_id, login)
    wanted = check_console_roles(membership.contract, roles)
    if membership.contract.referent_account_id == membership.account_id:
        wanted = sorted(set(wanted) | set(REFERENT_CONSOLE_ROLES))
    membership.console_roles = [MembershipConsoleRole(role=r) for r in wanted]
    db.session.flush()
    _sync_console_user(membership)
    _membership_changed(membership.account_id, contract_id)  # tokens carried the old roles
    audit.record(audit.EventTag.CONSOLE_ROLES_CHANGED, membership.account_id, contract=contract_id, roles=wanted)
    return membership


def remove_member(contract_id: str, login: str) -> bool:
    """Remove a person from a contract; the referent can never be removed.

    The tokens that carried this contract's console access die at once. A person left
    with no contract has no business here any more: their account is removed too
    (``remove_account``). Returns whether it was.
    """
    membership = _membership(contract_id, login)
    if membership.contract.referent_account_id == membership.account_id:
        raise ValidationError("the referent of a contract cannot be removed from it")
    account = membership.account
    db.session.delete(membership)
    db.session.flush()
    _membership_changed(account.id, contract_id)
    audit.record(audit.EventTag.MEMBER_REMOVED, account.id, contract=contract_id)
    if db.session.scalar(select(Membership.account_id).where(Membership.account_id == account.id).limit(1)) is None:
        remove_account(account)
        return True
    return False


def remove_account(account: Account) -> None:
    """Delete an account. Whatever hangs on it elsewhere ends first (``account_removed``:
    its SSO sessions with a back-channel logout to each client, every token); then the
    personal data goes (the audit trail keeps its rows, without the link)."""
    events.account_removed.send(current_app._get_current_object(), account=account)  # type: ignore[attr-defined]
    audit.record(audit.EventTag.ACCOUNT_REMOVED, account.id, public_id=account.public_id)
    db.session.delete(account)
    db.session.flush()


def _membership_changed(account_id: int, contract_id: str) -> None:
    events.membership_changed.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        account_id=account_id,
        contract_id=contract_id,
    )


def add_console_group(contract_id: str, name: str) -> ConsoleGroup:
    """Create a custom console group, usable as a console role on this contract only."""
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    name = name.strip()
    if not GROUP_RE.fullmatch(name) or name in BUILTIN_CONSOLE_ROLES:
        raise ValidationError(f"invalid console group name {name!r}")
    group = ConsoleGroup(contract=contract, name=name)
    db.session.add(group)
    db.session.flush()
    return group
