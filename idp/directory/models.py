"""Directory tables: accounts, contracts, memberships, console roles and groups."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp import clock
from idp.db_types import UTCDateTime
from idp.directory.roles import SECTIONS
from idp.directory.roles import Level
from idp.directory.roles import Offer
from idp.directory.roles import shown
from idp.extensions import Model


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Civility(StrEnum):
    MADAME = "madame"
    MONSIEUR = "monsieur"


def _public_id() -> str:
    # Opaque and stable: becomes the OIDC `sub`, never derived from the login or email.
    return secrets.token_hex(16)


class Account(Model):
    """A person's single identity, global across contracts."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=_public_id)
    login: Mapped[str] = mapped_column(String(64))
    # Logins and emails are unique whatever their case: one person, one identity.
    login_canonical: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    email_canonical: Mapped[str] = mapped_column(String(254), unique=True)
    # When a link mailed to ``email`` was last followed: the only proof that the address is
    # the person's (``email_verified``). Cleared by nothing but a switch to another address,
    # which is itself proven by the confirmation link (``selfservice.email_change``).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    civility: Mapped[str | None] = mapped_column(String(16))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    landline: Mapped[str | None] = mapped_column(String(32))
    mobile: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # disabled: left with no contract (``directory.accounts``); kept for the audit trail, no
    # sign-in of any kind, deleted ``jobs.disabled_account_retention_seconds`` after
    # ``disabled_at`` (or by ``idp users purge-disabled``).
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)

    memberships: Mapped[list[Membership]] = relationship(back_populates="account", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("landline IS NOT NULL OR mobile IS NOT NULL", name="ck_accounts_phone"),
        CheckConstraint("language IN ('fr', 'en')", name="ck_accounts_language"),
        CheckConstraint("status IN ('active', 'disabled')", name="ck_accounts_status"),
        CheckConstraint("civility IS NULL OR civility IN ('madame', 'monsieur')", name="ck_accounts_civility"),
    )

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name.upper()}"

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.ACTIVE

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class Contract(Model):
    """A customer contract (tenant), identified by its company account ``OCB…``."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    offer: Mapped[str] = mapped_column(String(40))
    platform_id: Mapped[str | None] = mapped_column(String(64))
    company_name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14))
    referent_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    referent: Mapped[Account] = relationship(foreign_keys=[referent_account_id])
    memberships: Mapped[list[Membership]] = relationship(back_populates="contract", cascade="all, delete-orphan")
    console_groups: Mapped[list[ConsoleGroup]] = relationship(back_populates="contract", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"offer IN ({', '.join(repr(o.value) for o in Offer)})", name="ck_contracts_offer"),
    )


def _level_column(section: str) -> Mapped[str]:
    return mapped_column(String(16), default=SECTIONS[section].default.value)


def _level_checks() -> tuple[CheckConstraint, ...]:
    """One CHECK per section, from the roles table, so the database refuses a stray value."""
    return tuple(
        CheckConstraint(
            f"role_{name} IN ({', '.join(repr(c.value) for c in section.choices)})",
            name=f"ck_memberships_{name}",
        )
        for name, section in SECTIONS.items()
    )


class Membership(Model):
    """An account on a contract: one role per portal section and a set of console roles."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    role_contract: Mapped[str] = _level_column("contract")
    role_dashboard: Mapped[str] = _level_column("dashboard")
    role_orders: Mapped[str] = _level_column("orders")
    role_subscriptions: Mapped[str] = _level_column("subscriptions")
    role_services: Mapped[str] = _level_column("services")
    role_invoices: Mapped[str] = _level_column("invoices")
    role_support: Mapped[str] = _level_column("support")
    role_users: Mapped[str] = _level_column("users")

    account: Mapped[Account] = relationship(back_populates="memberships")
    contract: Mapped[Contract] = relationship(back_populates="memberships")
    console_roles: Mapped[list[MembershipConsoleRole]] = relationship(
        cascade="all, delete-orphan", order_by="MembershipConsoleRole.role"
    )

    __table_args__ = (UniqueConstraint("account_id", "contract_id"), *_level_checks())

    def section_roles(self) -> dict[str, Level]:
        return {name: Level(getattr(self, f"role_{name}")) for name in SECTIONS}

    def shown_roles(self) -> dict[str, Level]:
        """The roles of the sections the contract's offer has (the others are stored neutral)."""
        return shown(self.contract.offer, self.section_roles())

    def set_section_roles(self, roles: dict[str, Level]) -> None:
        for name, level in roles.items():
            setattr(self, f"role_{name}", level.value)

    @property
    def console_role_names(self) -> list[str]:
        return [r.role for r in self.console_roles]

    @property
    def is_console_user(self) -> bool:
        """A membership with a console role *is* a console user of the contract (SPEC §2)."""
        return bool(self.console_roles)


class ConsoleGroup(Model):
    """A custom console group of one contract, usable as a console role there."""

    __tablename__ = "console_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))

    contract: Mapped[Contract] = relationship(back_populates="console_groups")

    __table_args__ = (UniqueConstraint("contract_id", "name"),)


class MembershipConsoleRole(Model):
    __tablename__ = "membership_console_roles"

    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)


Index("ix_memberships_contract", Membership.contract_id)
