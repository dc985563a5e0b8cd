"""Console users (membership × contract with a console role) and their API password.

IAM ids are derived, not stored, for the contract (its *domain*) and its region project:
stable 32-hex values that say nothing about the contract id beyond what the caller sent.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select

from idp import audit
from idp import clock
from idp.api.models import ApiToken
from idp.api.models import ConsoleUser
from idp.directory.models import Account
from idp.directory.models import Membership
from idp.errors import ValidationError
from idp.extensions import db
from idp.security import password_policy
from idp.security.passwords import PasswordHasher


def _derived(kind: str, contract_id: str) -> str:
    return hashlib.sha256(f"{kind}:{contract_id}".encode()).hexdigest()[:32]


def domain_id(contract_id: str) -> str:
    return _derived("domain", contract_id)


def project_id(contract_id: str) -> str:
    return _derived("project", contract_id)


def sync(membership: Membership) -> ConsoleUser | None:
    """Make the console user exist exactly when the membership has a console role.

    Removing the last console role deletes it, and with it (ON DELETE CASCADE) its API
    password, Keystone tokens, access keys and codes (SPEC §2).
    """
    existing = db.session.scalar(select(ConsoleUser).where(ConsoleUser.membership_id == membership.id))
    if membership.is_console_user:
        if existing is None:
            existing = ConsoleUser(membership_id=membership.id, user_id=secrets.token_hex(16), created_at=clock.now())
            db.session.add(existing)
            db.session.flush()
        return existing
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        audit.record(audit.EventTag.CONSOLE_USER_REMOVED, membership.account_id, contract=membership.contract_id)
    return None


def find(company_account: str | None, *, name: str | None = None, user_id: str | None = None) -> ConsoleUser | None:
    """The console user named ``name`` in that company account, or with that IAM user id."""
    query = select(ConsoleUser).join(Membership, ConsoleUser.membership_id == Membership.id).join(Account)
    if user_id is not None:
        query = query.where(ConsoleUser.user_id == user_id)
    else:
        if not name or not company_account:
            return None
        query = query.where(Membership.contract_id == company_account.strip().upper(),
                            Account.login_canonical == name.strip().casefold())
    if company_account is not None and user_id is not None:
        query = query.where(Membership.contract_id == company_account.strip().upper())
    user = db.session.scalar(query)
    if user is None or not user.membership.account.is_active:
        return None
    return user


def for_login(contract_id: str, login: str) -> ConsoleUser:
    from idp.errors import NotFound

    user = find(contract_id, name=login)
    if user is None:
        raise NotFound(f"{login} is not a console user of {contract_id}")
    return user


def set_api_password(user: ConsoleUser, password: str) -> None:
    """The API password: the web password's policy, argon2id; every Keystone token of the
    user dies with the old one, and the person is told by email."""
    settings = current_app.config["IDP_SETTINGS"]
    account = user.membership.account
    result = password_policy.evaluate(password, account.login, settings.passwords.max_length)
    if not result.ok:
        raise ValidationError("password refused: " + "; ".join(result.messages(settings.passwords.max_length)))
    hasher: PasswordHasher = current_app.extensions["idp.hasher"]
    user.api_password_hash = hasher.hash(password)
    user.api_password_changed_at = clock.now()
    user.api_password_level = result.level.value if result.level else None
    db.session.execute(delete(ApiToken).where(ApiToken.console_user_id == user.id))
    audit.record(audit.EventTag.API_PASSWORD_SET, account.id, contract=user.membership.contract_id)
    _notify(user)


def _notify(user: ConsoleUser) -> None:
    from idp.mail import messages
    from idp.mail.outbox import enqueue

    account = user.membership.account
    enqueue(messages.for_account("api-password-changed", account, company=user.membership.contract_id))
