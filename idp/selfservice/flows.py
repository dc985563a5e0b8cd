"""Password links: the stored object behind every set-password / forgot-password email.

    requested ──(email with /reset-password/<token>)──► pending
    pending ──POST, policy ok──► used          (password set, sessions ended)
    pending ──newer link, or the address changed──► superseded
    pending ──password changed any other way──► stale (derived: created before the change)
    pending ──24 h──► expired;  pending ──too many POSTs──► exhausted

Only the SHA-256 of the token is stored; the token itself exists in the email alone.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import update
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
from idp.security.tokens import new_token
from idp.security.tokens import token_hash


class LinkInvalid(IdpError):
    code, status = "flow_expired", 410
    message = _l("This link has expired or has already been used. Please ask for a new one.")


class PasswordLink(Model):
    __tablename__ = "password_links"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The (canonical) address the link was mailed to: a link is good only while the account
    # still has it, even if it was written at the very moment the address switched.
    sent_to: Mapped[str | None] = mapped_column(String(254))

    account: Mapped[Account] = relationship()


def issue(account: Account, max_age_seconds: int) -> str:
    """Create a link for ``account``, superseding its older ones; return the token."""
    now = clock.now()
    supersede(account.id)
    token = new_token()
    db.session.add(
        PasswordLink(
            id_hash=token_hash(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_seconds),
            attempts=0,
            sent_to=account.email_canonical,
        )
    )
    return token


def supersede(account_id: int) -> None:
    """End the account's pending links: a newer one was sent, or the address changed."""
    db.session.execute(
        update(PasswordLink)
        .where(
            PasswordLink.account_id == account_id, PasswordLink.used_at.is_(None), PasswordLink.superseded_at.is_(None)
        )
        .values(superseded_at=clock.now())
    )


def find(token: str, max_attempts: int) -> PasswordLink:
    """The pending link for ``token``, or :class:`LinkInvalid` whatever the reason."""
    if not token or len(token) > 128:
        raise LinkInvalid()
    link = db.session.get(PasswordLink, token_hash(token))
    now = clock.now()
    if (
        link is None
        or link.used_at is not None
        or link.superseded_at is not None
        or link.expires_at <= now
        or link.attempts >= max_attempts
        or not link.account.is_active
        or (link.sent_to is not None and link.sent_to != link.account.email_canonical)
        or (link.account.password_changed_at is not None and link.account.password_changed_at > link.created_at)
    ):
        raise LinkInvalid()
    return link


def spend_attempt(link: PasswordLink, max_attempts: int) -> None:
    """Count a submission before anything else, or :class:`LinkInvalid` once none is left.

    One conditional ``UPDATE … WHERE attempts < max``, committed at once: parallel
    submissions cannot all read an unspent count, on SQLite and PostgreSQL alike.
    """
    table = PasswordLink.__table__
    spent = rowcount(
        update(table)
        .where(table.c.id_hash == link.id_hash, table.c.attempts < max_attempts, table.c.used_at.is_(None))
        .values(attempts=table.c.attempts + 1)
    )
    db.session.commit()
    if not spent:
        raise LinkInvalid()


def consume(link: PasswordLink) -> bool:
    """Mark the link used; False if another request used it first."""
    return bool(
        rowcount(
            update(PasswordLink)
            .where(PasswordLink.id_hash == link.id_hash, PasswordLink.used_at.is_(None))
            .values(used_at=clock.now())
        )
    )


def _email_changed(_app: Flask, *, account: Account, **_: Any) -> None:
    """A link mailed to the old address must not act on the account any more."""
    supersede(account.id)


def init_app(app: Flask) -> None:
    events.email_changed.connect(_email_changed)
