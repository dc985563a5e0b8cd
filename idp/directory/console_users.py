"""Console users: a membership with at least one console role *is* one (SPEC §2).

It holds the IAM user id and the API password. Its Keystone tokens, access keys and
emailed codes hang from it with ON DELETE CASCADE, so removing the console user (last
console role gone, member removed, account deleted) removes all of them at once.

Console users live in the directory, next to the memberships they follow, so that a
role change provisions or removes one in the same function; the packages speaking
Keystone and IAM build on them.

IAM ids are derived, not stored, for the contract (its *domain*) and its region project:
stable 32-hex values (unkeyed: they are identifiers, not secrets).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp import clock
from idp import events
from idp.db_types import UTCDateTime
from idp.directory import notices
from idp.directory.models import Account
from idp.directory.models import Membership
from idp.errors import NotFound
from idp.extensions import Model
from idp.extensions import db
from idp.security import audit
from idp.security import canonical
from idp.security.credentials import console_user_key
from idp.security.new_password import prepare
from idp.security.throttle import throttle


class ConsoleUser(Model):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"), unique=True)
    # The IAM user id (32 hex), as Keystone bodies and the credentials API show it.
    user_id: Mapped[str] = mapped_column(String(32), unique=True)
    api_password_hash: Mapped[str | None] = mapped_column(String(255))
    api_password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # medium | strong: the policy level it reached, which My Credential shows.
    api_password_level: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    membership: Mapped[Membership] = relationship(lazy="joined")

    @property
    def account(self) -> Account:
        return self.membership.account

    @property
    def contract_id(self) -> str:
        return self.membership.contract_id


def _derived(kind: str, contract_id: str) -> str:
    return hashlib.sha256(f"{kind}:{contract_id}".encode()).hexdigest()[:32]


def domain_id(contract_id: str) -> str:
    return _derived("domain", contract_id)


def project_id(contract_id: str) -> str:
    return _derived("project", contract_id)


def sync(membership: Membership) -> ConsoleUser | None:
    """Make the console user exist exactly when the membership has a console role. A new
    one is told how to reach the console (the console access email, FE guide §4)."""
    existing = db.session.scalar(select(ConsoleUser).where(ConsoleUser.membership_id == membership.id))
    if membership.is_console_user:
        if existing is None:
            existing = ConsoleUser(membership_id=membership.id, user_id=secrets.token_hex(16), created_at=clock.now())
            db.session.add(existing)
            db.session.flush()
            notices.send_console_access_email(membership)
        return existing
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        audit.record(audit.EventTag.CONSOLE_USER_REMOVED, membership.account_id, contract=membership.contract_id)
    return None


def _active(user: ConsoleUser | None) -> ConsoleUser | None:
    return user if user is not None and user.account.is_active else None


def by_name(company_account: str, name: str) -> ConsoleUser | None:
    """The active console user with that login in that company account (any spelling)."""
    return _active(
        db.session.scalar(
            select(ConsoleUser)
            .join(Membership, ConsoleUser.membership_id == Membership.id)
            .join(Account)
            .where(
                Membership.contract_id == canonical.company_account(company_account),
                Account.login_canonical == canonical.login(name),
            )
        )
    )


def by_user_id(user_id: str) -> ConsoleUser | None:
    """The active console user with that IAM user id."""
    return _active(db.session.scalar(select(ConsoleUser).where(ConsoleUser.user_id == user_id.strip())))


def by_email(company_account: str, email: str) -> ConsoleUser | None:
    """The active console user of that company account whose account has that email."""
    return _active(
        db.session.scalar(
            select(ConsoleUser)
            .join(Membership, ConsoleUser.membership_id == Membership.id)
            .join(Account)
            .where(
                Membership.contract_id == canonical.company_account(company_account),
                Account.email_canonical == canonical.email(email),
            )
        )
    )


def of_account(account_id: int) -> list[ConsoleUser]:
    """The console users of one person, one per contract where they have a console role."""
    return list(
        db.session.scalars(
            select(ConsoleUser)
            .join(Membership, ConsoleUser.membership_id == Membership.id)
            .where(Membership.account_id == account_id)
            .order_by(Membership.contract_id)
        )
    )


def for_login(contract_id: str, login: str) -> ConsoleUser:
    user = by_name(contract_id, login)
    if user is None:
        raise NotFound(f"{login} is not a console user of {contract_id}")
    return user


def set_api_password(user: ConsoleUser, password: str) -> None:
    """The web password's policy, argon2id; the lockout is cleared, and what hangs on the
    old password (Keystone tokens, the person's knowledge of it) is told by
    ``events.api_password_changed``."""
    prepared = prepare(password, user.account.login)
    user.api_password_hash = prepared.hash
    user.api_password_changed_at = clock.now()
    user.api_password_level = prepared.level.value
    throttle().clear(console_user_key(user.id))
    audit.record(audit.EventTag.API_PASSWORD_SET, user.account.id, contract=user.contract_id)
    events.api_password_changed.send(current_app._get_current_object(), console_user=user)  # type: ignore[attr-defined]
