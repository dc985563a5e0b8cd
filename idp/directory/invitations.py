"""Invitations (SPEC §2): how an identity that already exists joins one more contract.

Adding a person whose email already has an account never grants roles by itself: whoever
controls that account (or, for a while, that address) would otherwise receive another
company's roles, console admin included, without anyone of that company having met them.
The roles asked wait in an invitation, mailed to the account's address; they take effect
when the person, signed in as that account, accepts it.

    invite ─► [pending] ─ accept (signed in as the account) ─► [accepted]  membership created
                 ├─ decline ─────────────────────────────────► [declined]
                 ├─ the inviter revokes it ──────────────────► [revoked]
                 ├─ the same person invited again ───────────► [revoked]   the newer one replaces it
                 └─ ``selfservice.invitation_max_age_seconds`` (7 days) ─► expired (derived)

One open invitation per account and contract, held by the database: ``open`` is TRUE until
the invitation is accepted, declined or revoked, NULL afterwards, and (account, contract,
open) is unique; NULLs never collide, so closed invitations pile up freely. Every closing is
one conditional ``UPDATE … WHERE open AND expires_at > now``, rowcount checked, so two
parallel accepts make one membership and an expired, revoked or declined invitation grants
nothing.

:func:`grant` is the one place an ordinary member's membership is created: on acceptance,
or at once for a brand-new identity (``service.add_member``), which nobody else can hold.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import selectinload

from idp import clock
from idp.db_types import UTCDateTime
from idp.directory import accounts
from idp.directory import console_users
from idp.directory.models import Account
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.directory.roles import BUILTIN_CONSOLE_ROLES
from idp.directory.roles import Level
from idp.directory.roles import default_roles
from idp.directory.roles import has_console
from idp.directory.roles import sections_for
from idp.errors import Conflict
from idp.errors import IdpError
from idp.errors import NotFound
from idp.extensions import Model
from idp.extensions import db
from idp.extensions import rowcount
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security import canonical
from idp.security import email_proof


class InvitationClosed(IdpError):
    """The invitation exists for this person but was accepted, declined, revoked or expired."""

    code, status = "invitation_closed", 410
    message = _l("This invitation has expired or is no longer valid.")


class AddressNotProven(IdpError):
    """The account has not proven that it reads the address the invitation went to."""

    code, status = "email_not_verified", 403
    message = _l(
        "Before you accept, confirm your email address: follow the link of the invitation email, "
        "or ask for a new link below."
    )


class Invitation(Model):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    # The address as the inviter typed it: what they are told and what they revoke by.
    email: Mapped[str] = mapped_column(String(254))
    email_canonical: Mapped[str] = mapped_column(String(254))
    # {section: level} and [console role]: what the membership gets on acceptance.
    section_roles: Mapped[dict[str, str]] = mapped_column(JSON)
    console_roles: Mapped[list[str]] = mapped_column(JSON)
    # Who asked; NULL for the operator (command line) or once that account is removed.
    inviter_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # TRUE while pending, NULL once closed: with the unique constraint, one open invitation
    # per account and contract (see the module's docstring).
    open: Mapped[bool | None] = mapped_column(Boolean, default=True)

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    contract: Mapped[Contract] = relationship()
    inviter: Mapped[Account | None] = relationship(foreign_keys=[inviter_account_id])

    __table_args__ = (UniqueConstraint("account_id", "contract_id", "open"),)

    @property
    def state(self) -> str:
        """pending | accepted | declined | revoked | expired."""
        for name in ("accepted", "declined", "revoked"):
            if getattr(self, f"{name}_at") is not None:
                return name
        return "expired" if self.expires_at <= clock.now() else "pending"


def grant(
    account: Account, contract: Contract, roles: dict[str, Level], console: list[str], actor: str | None = None
) -> Membership:
    """Make ``account`` a member of ``contract`` with these roles, its console user included.

    The account's row is written first, active (``accounts.lock``): a removal from its last
    other contract running at the same moment either disables it before (and this makes it
    active again, with the membership) or waits and then finds this membership."""
    if not accounts.lock(account.id, activate=True):
        raise NotFound("no such account")
    membership = Membership(account=account, contract=contract)
    membership.set_section_roles(roles)
    membership.console_roles = [MembershipConsoleRole(role=r) for r in console]
    db.session.add(membership)
    db.session.flush()
    console_users.sync(membership)
    audit.record(audit.EventTag.MEMBER_ADDED, account.id, actor=actor, contract=contract.id)
    return membership


def invite(
    contract: Contract,
    account: Account,
    email: str,
    roles: dict[str, Level],
    console: list[str],
    inviter: Account | None = None,
) -> Invitation:
    """Invite ``account`` (the owner of ``email``) to ``contract`` and mail it the invitation.

    An open invitation of the same person to the same contract is revoked and replaced: the
    inviter may be correcting the roles, and the newest mail is the one that counts. The
    caller has checked that the account is not a member yet.
    """
    now = clock.now()
    max_age = current_app.config["IDP_SETTINGS"].selfservice.invitation_max_age_seconds
    db.session.execute(
        update(Invitation)
        .where(Invitation.account_id == account.id, Invitation.contract_id == contract.id, Invitation.open.is_not(None))
        # An expired one is only closed: it stays "expired" in the list, not "revoked".
        .values(open=None, revoked_at=case((Invitation.expires_at > now, now), else_=None))
    )
    invitation = Invitation(
        account_id=account.id,
        contract_id=contract.id,
        email=email,
        email_canonical=canonical.email(email),
        section_roles={section: level.value for section, level in roles.items()},
        console_roles=list(console),
        inviter_account_id=inviter.id if inviter is not None else None,
        created_at=now,
        expires_at=now + timedelta(seconds=max_age),
        open=True,
    )
    try:
        with db.session.begin_nested():
            db.session.add(invitation)
    except IntegrityError:
        # Another invitation of this person to this contract was written at the same moment.
        raise Conflict(f"an invitation to {email} for {contract.id} was just sent; try again") from None
    # Following the link proves the address (``email_links.verify``), then opens the invitations.
    proof = email_proof.sign(account.public_id, account.email_canonical)
    link = messages.external_url("email_links.verify", token=proof, next="invitations")
    enqueue(
        messages.for_account(
            "invitation", account, contract=contract, inviter=inviter, link=link, expires_at=invitation.expires_at
        )
    )
    audit.record(
        audit.EventTag.INVITATION_SENT,
        account.id,
        actor=inviter.login if inviter is not None else None,
        contract=contract.id,
        invitation=invitation.id,
    )
    return invitation


def _open_now() -> tuple[Any, ...]:
    return (Invitation.open.is_not(None), Invitation.expires_at > clock.now())


def pending_for(account_id: int) -> list[Invitation]:
    """The invitations this person may still accept, oldest first."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.account_id == account_id, *_open_now())
            .options(selectinload(Invitation.contract), selectinload(Invitation.inviter))
            .order_by(Invitation.created_at, Invitation.id)
        )
    )


def pending_count(account_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.account_id == account_id, *_open_now())
        )
        or 0
    )


def _addressed_to(invitation_id: int, account: Account) -> Invitation:
    """The invitation, whatever its state, if it is this account's; otherwise NotFound, as
    if it did not exist (nobody learns about invitations addressed to others)."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.account_id == account.id)
    )
    if invitation is None:
        raise NotFound("no such invitation")
    return invitation


def _close(invitation: Invitation, **values: datetime) -> None:
    """Close a pending invitation, once: a second, parallel or late attempt finds nothing."""
    closed = rowcount(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.declined_at.is_(None))
        .where(Invitation.revoked_at.is_(None), *_open_now())
        .values(open=None, **values)
    )
    if not closed:
        raise InvitationClosed()


def accept(invitation_id: int, account: Account) -> Membership:
    """Accept an invitation addressed to ``account``: the membership, with the roles asked,
    in the caller's transaction. Roles the contract no longer offers (a console group gone
    since, a section or console roles its offer lacks) are left out."""
    invitation = _addressed_to(invitation_id, account)
    if invitation.email_canonical != account.email_canonical:
        raise InvitationClosed()  # mailed to an address the account no longer has
    if not account.email_verified:
        # Roles of another company go only to whoever proved they read the address the
        # invitation was sent to: an address nobody proved (typed by an operator, or kept
        # from before addresses were verified) may belong to someone else.
        raise AddressNotProven()
    _close(invitation, accepted_at=clock.now())
    contract = invitation.contract
    groups = {g.name for g in contract.console_groups} if has_console(contract.offer) else set()
    builtin = BUILTIN_CONSOLE_ROLES if has_console(contract.offer) else ()
    console = sorted({r for r in invitation.console_roles if r in builtin or r in groups})
    offered = {s.name: s for s in sections_for(contract.offer)}
    roles = default_roles(contract.offer) | {
        section: Level(level)
        for section, level in invitation.section_roles.items()
        if section in offered and level in {c.value for c in offered[section].choices}
    }
    try:
        with db.session.begin_nested():
            membership = grant(account, contract, roles, console)
    except IntegrityError:
        raise InvitationClosed() from None  # already a member (a concurrent path): nothing to grant
    audit.record(audit.EventTag.INVITATION_ACCEPTED, account.id, contract=contract.id, invitation=invitation.id)
    return membership


def decline(invitation_id: int, account: Account) -> Invitation:
    invitation = _addressed_to(invitation_id, account)
    _close(invitation, declined_at=clock.now())
    audit.record(
        audit.EventTag.INVITATION_DECLINED, account.id, contract=invitation.contract_id, invitation=invitation.id
    )
    return invitation


def revoke(contract_id: str, email: str, by: Account | None = None) -> int:
    """Revoke the pending invitations of ``contract_id`` sent to ``email``; how many there were."""
    invitations = db.session.scalars(
        select(Invitation).where(
            Invitation.contract_id == contract_id,
            Invitation.email_canonical == canonical.email(email),
            *_open_now(),
        )
    ).all()
    revoked = 0
    for invitation in invitations:
        if rowcount(
            update(Invitation)
            .where(Invitation.id == invitation.id, Invitation.open.is_not(None))
            .values(open=None, revoked_at=clock.now())
        ):
            revoked += 1
            audit.record(
                audit.EventTag.INVITATION_REVOKED,
                invitation.account_id,
                actor=by.login if by is not None else None,
                contract=contract_id,
                invitation=invitation.id,
            )
    if not revoked:
        raise NotFound(f"no pending invitation to {email} for {contract_id}")
    return revoked


def revoke_all_of(account_id: int) -> int:
    """Close every open invitation of an account that was just disabled: nobody can sign in
    to it to accept them, and a pending one would tell its inviter a wrong story."""
    return rowcount(
        update(Invitation)
        .where(Invitation.account_id == account_id, Invitation.open.is_not(None))
        .values(open=None, revoked_at=case((Invitation.expires_at > clock.now(), clock.now()), else_=None))
    )


def of_contract(contract_id: str | None = None) -> list[Invitation]:
    """Every invitation (of one contract), newest first, for the operator's list."""
    query = select(Invitation).options(selectinload(Invitation.inviter)).order_by(Invitation.id.desc())
    if contract_id is not None:
        query = query.where(Invitation.contract_id == contract_id)
    return list(db.session.scalars(query))
