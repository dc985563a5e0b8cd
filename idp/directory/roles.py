"""Section roles and console roles of SPEC §2, per offer, as data.

Changing who may do what is a change to these tables, not to code scattered in views. The
database has a column (and a CHECK) for each of the eight sections whatever the offer; a
section the contract's offer does not have is stored at its *neutral* level (the lowest it
allows) and never shown: not in tokens, not in emails, not to the management API.

- *Flexible Engine*: the eight sections and the console roles.
- *Flexible Computing Advanced*: five sections (dashboard, services, invoices, support,
  users; FCA guide §4.7.2) and no console roles (its consoles are not this IdP's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Level(StrEnum):
    NONE = "none"
    VISITOR = "visitor"
    MANAGER = "manager"


# From the lowest right to the highest: a referent's roles are a floor (``service.set_roles``).
RANK = {Level.NONE: 0, Level.VISITOR: 1, Level.MANAGER: 2}


class Offer(StrEnum):
    FLEXIBLE_ENGINE = "flexible-engine"
    FLEXIBLE_COMPUTING_ADVANCED = "flexible-computing-advanced"


@dataclass(frozen=True)
class Section:
    name: str
    choices: tuple[Level, ...]
    default: Level
    referent: Level

    @property
    def neutral(self) -> Level:
        """What a contract whose offer lacks this section stores: the lowest level allowed."""
        return min(self.choices, key=RANK.__getitem__)


N, V, M = Level.NONE, Level.VISITOR, Level.MANAGER

SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        Section("contract", (V, M), M, M),
        Section("dashboard", (N, V), V, V),
        Section("orders", (N, V), N, V),
        Section("subscriptions", (N, V, M), N, M),
        Section("services", (N, V, M), N, M),
        Section("invoices", (N, V, M), N, M),
        Section("support", (N, V, M), N, M),
        Section("users", (N, V, M), N, M),
    )
}

OFFER_SECTIONS: dict[Offer, tuple[str, ...]] = {
    Offer.FLEXIBLE_ENGINE: tuple(SECTIONS),
    Offer.FLEXIBLE_COMPUTING_ADVANCED: ("dashboard", "services", "invoices", "support", "users"),
}
OFFER_HAS_CONSOLE: dict[Offer, bool] = {Offer.FLEXIBLE_ENGINE: True, Offer.FLEXIBLE_COMPUTING_ADVANCED: False}

BUILTIN_CONSOLE_ROLES = ("admin", "power_user", "guest")
REFERENT_CONSOLE_ROLES = ("admin",)

# The guides' wording (FCA §4.7.2, FE §5.9.1.2), for emails and pages.
SECTION_LABELS = {
    "contract": _l("Contract"),
    "dashboard": _l("Dashboard"),
    "orders": _l("Orders"),
    "subscriptions": _l("Subscriptions"),
    "services": _l("Services"),
    "invoices": _l("Invoices"),
    "support": _l("Support"),
    "users": _l("Users"),
}
LEVEL_LABELS = {Level.NONE: _l("No access"), Level.VISITOR: _l("Visitor"), Level.MANAGER: _l("Manager")}
CONSOLE_LABEL = _l("Flexible Engine console")


class RoleError(ValueError):
    """A role assignment outside the SPEC §2 table or outside the contract's offer."""


def offer_of(offer: str) -> Offer:
    try:
        return Offer(offer)
    except ValueError:
        raise RoleError(f"offer must be one of: {', '.join(o.value for o in Offer)}") from None


def sections_for(offer: str) -> tuple[Section, ...]:
    """The sections a contract of this offer has, in the SPEC's order."""
    return tuple(SECTIONS[name] for name in OFFER_SECTIONS[offer_of(offer)])


def has_console(offer: str) -> bool:
    """Whether members of this offer's contracts may have console roles (console users)."""
    return OFFER_HAS_CONSOLE[offer_of(offer)]


def _per_offer(offer: str, pick: str) -> dict[str, Level]:
    offered = OFFER_SECTIONS[offer_of(offer)]
    return {name: getattr(s, pick) if name in offered else s.neutral for name, s in SECTIONS.items()}


def default_roles(offer: str) -> dict[str, Level]:
    """A new member's eight stored levels: the defaults of the offered sections, neutral elsewhere."""
    return _per_offer(offer, "default")


def referent_roles(offer: str) -> dict[str, Level]:
    """The referent's eight stored levels: the referent column of the offered sections."""
    return _per_offer(offer, "referent")


def referent_console_roles(offer: str) -> tuple[str, ...]:
    return REFERENT_CONSOLE_ROLES if has_console(offer) else ()


def shown(offer: str, roles: Mapping[str, Level]) -> dict[str, Level]:
    """Only the sections the offer has: what tokens, emails and the API show."""
    return {name: roles[name] for name in OFFER_SECTIONS[offer_of(offer)] if name in roles}


def check(offer: str, section: str, level: str) -> tuple[str, Level]:
    """``(section, Level)`` if this offer has that section and the section allows that level."""
    if section not in SECTIONS:
        raise RoleError(f"unknown section {section!r} (one of: {', '.join(SECTIONS)})")
    offered = OFFER_SECTIONS[offer_of(offer)]
    if section not in offered:
        raise RoleError(f"section {section!r} is not part of a {offer} contract (sections: {', '.join(offered)})")
    allowed = SECTIONS[section].choices
    if level not in {c.value for c in allowed}:
        choices = ", ".join(c.value for c in allowed)
        raise RoleError(f"section {section!r} takes one of: {choices}")
    return section, Level(level)


def parse_assignment(text: str, offer: str = Offer.FLEXIBLE_ENGINE) -> tuple[str, Level]:
    """Parse ``SECTION=LEVEL`` as typed on the command line (checked again for the contract's
    offer by the directory function it is given to)."""
    section, sep, level = text.partition("=")
    if not sep:
        raise RoleError(f"role {text!r} must look like SECTION=LEVEL")
    return check(offer, section.strip().lower(), level.strip().lower())


def is_lower(level: Level, than: Level) -> bool:
    return RANK[level] < RANK[than]
