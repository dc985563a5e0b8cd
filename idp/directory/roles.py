"""Section roles and console roles of SPEC §2, as data.

Changing who may do what is a change to this table, not to code scattered in views.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    NONE = "none"
    VISITOR = "visitor"
    MANAGER = "manager"


@dataclass(frozen=True)
class Section:
    name: str
    choices: tuple[Level, ...]
    default: Level
    referent: Level


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

BUILTIN_CONSOLE_ROLES = ("admin", "power_user", "guest")
REFERENT_CONSOLE_ROLES = ("admin",)


class RoleError(ValueError):
    """A role assignment outside the SPEC §2 table."""


def default_roles() -> dict[str, Level]:
    return {name: s.default for name, s in SECTIONS.items()}


def referent_roles() -> dict[str, Level]:
    return {name: s.referent for name, s in SECTIONS.items()}


def parse_assignment(text: str) -> tuple[str, Level]:
    """Parse ``SECTION=LEVEL`` as typed on the command line."""
    section, sep, level = text.partition("=")
    if not sep:
        raise RoleError(f"role {text!r} must look like SECTION=LEVEL")
    return check(section.strip().lower(), level.strip().lower())


def check(section: str, level: str) -> tuple[str, Level]:
    if section not in SECTIONS:
        raise RoleError(f"unknown section {section!r} (one of: {', '.join(SECTIONS)})")
    allowed = SECTIONS[section].choices
    if level not in {c.value for c in allowed}:
        choices = ", ".join(c.value for c in allowed)
        raise RoleError(f"section {section!r} takes one of: {choices}")
    return section, Level(level)
