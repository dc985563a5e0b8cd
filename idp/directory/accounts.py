"""What happens to an identity when its last contract goes, and when it comes back.

Removing a member never deletes the person behind anyone's back: an account left with no
contract is **disabled** — no web, console or API sign-in, its SSO sessions ended with a
back-channel logout, its tokens revoked (``events.account_disabled``) — and kept for the
audit trail. It is deleted ``jobs.disabled_account_retention_seconds`` after (the maintenance
run, ``directory.purges``) or sooner by ``idp users purge-disabled --older-than DAYS``.

Added again to a contract, a disabled account is **enabled again directly**, not invited:
nobody can sign in to a disabled account to accept an invitation, and it is given the state
of a new identity — no password, address not proven — with a new access email. So the
roles reach exactly whoever reads that address now, as for a brand-new person; not whoever
still knows the old password of an address that may have changed hands. Its login and
``sub`` stay the same (one person, one identity).

"An account with a membership is active, a disabled account has none" holds under
concurrency because every path that adds a membership (``invitations.grant``) or disables
an account writes the account's row first (:func:`lock`): the row lock (PostgreSQL) or
the write lock (SQLite) makes the second wait until the first commits, then it counts what
the first wrote.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp import events
from idp.directory.models import Account
from idp.directory.models import AccountStatus
from idp.directory.models import Membership
from idp.extensions import db
from idp.extensions import rowcount
from idp.security import audit

PURGE_BATCH = 100


def lock(account_id: int, *, activate: bool = False) -> bool:
    """Write the account's row so that membership changes of this person queue here. With
    ``activate``, the write makes it active (an account that gets a membership is active).
    Returns whether the row exists."""
    values = {"status": AccountStatus.ACTIVE.value, "disabled_at": None} if activate else {"status": Account.status}
    return rowcount(update(Account).where(Account.id == account_id).values(**values)) > 0


def _has_membership(account_id: int) -> bool:
    return db.session.scalar(select(Membership.id).where(Membership.account_id == account_id).limit(1)) is not None


def disable_if_orphaned(account: Account, actor: str | None = None) -> bool:
    """Disable ``account`` if it has no contract left (under its row lock); whether it did."""
    lock(account.id)
    if _has_membership(account.id):
        return False
    disabled = rowcount(
        update(Account)
        .where(Account.id == account.id, Account.status == AccountStatus.ACTIVE.value)
        .values(status=AccountStatus.DISABLED.value, disabled_at=clock.now())
    )
    if not disabled:
        return False
    db.session.refresh(account)
    audit.record(audit.EventTag.ACCOUNT_DISABLED, account.id, actor=actor, reason="no_contract_left")
    events.account_disabled.send(current_app._get_current_object(), account=account)  # type: ignore[attr-defined]
    return True


def enable_again(account: Account, actor: str | None = None) -> bool:
    """Make a disabled account active again, in the state of a new identity (no password,
    address not proven: see the module's docstring). False if it was not disabled (any more):
    a parallel addition enabled it first, and this one then invites it like any account."""
    enabled = rowcount(
        update(Account)
        .where(Account.id == account.id, Account.status == AccountStatus.DISABLED.value)
        .values(
            status=AccountStatus.ACTIVE.value,
            disabled_at=None,
            password_hash=None,
            password_changed_at=None,
            email_verified_at=None,
        )
    )
    if enabled:
        db.session.refresh(account)
        audit.record(audit.EventTag.ACCOUNT_ENABLED, account.id, actor=actor)
    return bool(enabled)


def remove_account(account: Account, reason: str) -> None:
    """Delete an account. Whatever hangs on it elsewhere ends first (``account_removed``: its
    SSO sessions with a back-channel logout to each client, every token); then the personal
    data goes (the audit trail keeps its rows, without the link, and the ``public_id``)."""
    events.account_removed.send(current_app._get_current_object(), account=account)  # type: ignore[attr-defined]
    audit.record(audit.EventTag.ACCOUNT_REMOVED, account.id, public_id=account.public_id, reason=reason)
    db.session.delete(account)
    db.session.flush()


def purge_disabled(disabled_before: datetime, limit: int = PURGE_BATCH) -> int:
    """Delete up to ``limit`` accounts disabled before ``disabled_before``; how many went.

    Each is checked again under its row lock (still disabled, still that old, still without
    a contract): an addition that enabled it in the meantime wins."""
    candidates = db.session.scalars(
        select(Account.id)
        .where(Account.status == AccountStatus.DISABLED.value, Account.disabled_at < disabled_before)
        .order_by(Account.id)
        .limit(limit)
    ).all()
    purged = 0
    for account_id in candidates:
        still = rowcount(
            update(Account)
            .where(
                Account.id == account_id,
                Account.status == AccountStatus.DISABLED.value,
                Account.disabled_at < disabled_before,
            )
            .values(status=Account.status)
        )
        if not still or _has_membership(account_id):
            continue
        account = db.session.get(Account, account_id)
        if account is not None:
            remove_account(account, reason="disabled_retention")
            purged += 1
    return purged
