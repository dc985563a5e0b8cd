"""Changing the email address, as a stored flow, and proving an address (SPEC §2–3).

The address is where every recovery goes (reset links, forgot-login, API-password codes),
so whoever sets it owns the account. A change therefore needs the current password and
the new mailbox, and the old mailbox can stop it::

    profile POST + current password ──► requested: confirmation link (24 h) ─► new address
                                                   notice with a cancel link ─► old address
    requested ──confirm link followed──► confirmed: the address switches, proven at once;
                                         pending reset links and codes die; old address told
    requested ──cancel link (old address) / newer request / password changed──► cancelled
    requested ──24 h──► expired (derived)

An address that already belongs to another account gets the same flow, except that the
new mailbox is told the address is taken instead of being sent a link (which could never
succeed): the person asking sees the same page either way, so the profile page cannot
be used to find out who has an account. Only the SHA-256 of each link's token is stored.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp import clock
from idp import events
from idp.db_types import UTCDateTime
from idp.directory.models import Account
from idp.errors import IdpError
from idp.extensions import Model
from idp.extensions import db
from idp.extensions import rowcount
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security import canonical
from idp.security import email_proof
from idp.security.tokens import new_token
from idp.security.tokens import token_hash


class ChangeLinkInvalid(IdpError):
    code, status = "flow_expired", 410
    message = _l("This link has expired or has already been used.")


class EmailChange(Model):
    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    new_email: Mapped[str] = mapped_column(String(254))
    new_email_canonical: Mapped[str] = mapped_column(String(254))
    confirm_hash: Mapped[str] = mapped_column(String(64), unique=True)
    cancel_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()


def pending(account_id: int) -> EmailChange | None:
    """The change waiting for its confirmation, if any (at most one is ever pending)."""
    return db.session.scalar(
        select(EmailChange).where(
            EmailChange.account_id == account_id,
            EmailChange.confirmed_at.is_(None),
            EmailChange.cancelled_at.is_(None),
            EmailChange.expires_at > clock.now(),
        )
    )


def _cancel_pending(account_id: int) -> int:
    return rowcount(
        update(EmailChange)
        .where(
            EmailChange.account_id == account_id,
            EmailChange.confirmed_at.is_(None),
            EmailChange.cancelled_at.is_(None),
        )
        .values(cancelled_at=clock.now())
    )


def request_change(account: Account, new_email: str) -> None:
    """Start a change to ``new_email`` (already valid and different from the current one);
    mail both addresses. The caller has checked the current password and commits."""
    # Write the account's row first: parallel requests for one account queue here, so the
    # one that comes second cancels the first's change and "at most one pending" holds.
    db.session.execute(update(Account).where(Account.id == account.id).values(updated_at=clock.now()))
    _cancel_pending(account.id)
    key = canonical.email(new_email)
    now = clock.now()
    confirm, cancel = new_token(), new_token()
    max_age = current_app.config["IDP_SETTINGS"].selfservice.password_link_max_age_seconds
    change = EmailChange(
        account_id=account.id,
        new_email=new_email,
        new_email_canonical=key,
        confirm_hash=token_hash(confirm),
        cancel_hash=token_hash(cancel),
        created_at=now,
        expires_at=now + timedelta(seconds=max_age),
    )
    db.session.add(change)
    owner = db.session.scalar(select(Account).where(Account.email_canonical == key, Account.id != account.id))
    if owner is None:
        link = messages.external_url("email_links.confirm", token=confirm)
        enqueue(messages.for_account("email-change-confirm", account, to=new_email, link=link, new_email=new_email))
    else:
        # The owner of that address learns someone tried it (in their own name and language);
        # the person asking learns nothing.
        enqueue(messages.for_account("email-in-use", owner, link=messages.external_url("forgot_login.forgot_login")))
    cancel_link = messages.external_url("email_links.cancel", token=cancel)
    enqueue(messages.for_account("email-change-requested", account, new_email=new_email, link=cancel_link))
    audit.record(audit.EventTag.EMAIL_CHANGE_REQUESTED, account.id, taken=owner is not None)


def find(token: str, *, cancel: bool = False) -> EmailChange:
    """The pending change a confirm (or cancel) link names, or :class:`ChangeLinkInvalid`."""
    if not token or len(token) > 128:
        raise ChangeLinkInvalid()
    column = EmailChange.cancel_hash if cancel else EmailChange.confirm_hash
    change = db.session.scalar(select(EmailChange).where(column == token_hash(token)))
    if (
        change is None
        or change.confirmed_at is not None
        or change.cancelled_at is not None
        or change.expires_at <= clock.now()
        or not change.account.is_active
    ):
        raise ChangeLinkInvalid()
    return change


def _settle(change: EmailChange, **values: Any) -> bool:
    """Move a pending change to its end state once: False if another request was first."""
    return bool(
        rowcount(
            update(EmailChange)
            .where(EmailChange.id == change.id, EmailChange.confirmed_at.is_(None), EmailChange.cancelled_at.is_(None))
            .values(**values)
        )
    )


def confirm(change: EmailChange) -> None:
    """Switch the address: the link was followed, so the new address is proven. Everything
    mailed to the old address that could still act (reset links, API codes) dies with it."""
    account = change.account
    if db.session.scalar(
        select(Account.id).where(Account.email_canonical == change.new_email_canonical, Account.id != account.id)
    ):
        raise ChangeLinkInvalid()  # taken since the request: the confirmation can never succeed
    if not _settle(change, confirmed_at=clock.now()):
        raise ChangeLinkInvalid()
    old_email = account.email
    account.email, account.email_canonical = change.new_email, change.new_email_canonical
    account.email_verified_at = clock.now()
    try:
        db.session.flush()
    except IntegrityError:  # the same address confirmed by someone else at this instant
        db.session.rollback()
        raise ChangeLinkInvalid() from None
    events.email_changed.send(current_app._get_current_object(), account=account, old_email=old_email)  # type: ignore[attr-defined]
    enqueue(messages.for_account("email-changed", account, to=old_email, new_email=account.email))
    audit.record(audit.EventTag.EMAIL_CHANGED, account.id)


def cancel(change: EmailChange) -> None:
    if not _settle(change, cancelled_at=clock.now()):
        raise ChangeLinkInvalid()
    audit.record(audit.EventTag.EMAIL_CHANGE_CANCELLED, change.account_id)


def proof_link(account: Account) -> str:
    return messages.external_url(
        "email_links.verify", token=email_proof.sign(account.public_id, account.email_canonical)
    )


def prove(token: str) -> Account | None:
    """Mark the address a proof link was mailed to as verified, if it is still the account's."""
    proof = email_proof.verify(token)
    if proof is None:
        return None
    public_id, email_canonical = proof
    account = db.session.scalar(select(Account).where(Account.public_id == public_id))
    if account is None or not account.is_active or account.email_canonical != email_canonical:
        return None
    mark_verified(account)
    return account


def mark_verified(account: Account) -> None:
    """A link mailed to the account's current address was followed (caller commits)."""
    if account.email_verified_at is None:
        account.email_verified_at = clock.now()
        audit.record(audit.EventTag.EMAIL_VERIFIED, account.id)


def _password_changed(_app: Flask, *, account: Account, **_: Any) -> None:
    """A new password means the account may have been someone else's for a while: a change
    of address they started must not go through after the owner took the account back."""
    if _cancel_pending(account.id):
        audit.record(audit.EventTag.EMAIL_CHANGE_CANCELLED, account.id, reason="password changed")


def init_app(app: Flask) -> None:
    events.password_changed.connect(_password_changed)
