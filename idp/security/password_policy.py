"""The password policy of SPEC §3, in one place for every page, API and command.

Rules from the seed guides: at least 8 characters (medium) or 10 (strong), at least one
lower-case letter, one upper-case letter, one digit and one of ``# ! . @ _ - /``,
different from the login. Beyond the seeds (NIST 800-63B §5.1.1.2, ASVS 6.2.4):
common passwords are refused, the login may not appear inside the password, and any
other character (spaces, accents, emoji) is allowed, up to ``max_length``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from flask_babel import lazy_gettext as _l

from idp.security.passwords import normalize

MEDIUM_LENGTH = 8
STRONG_LENGTH = 10
SPECIALS = "#!.@_-/"
DEFAULT_MAX_LENGTH = 128


class Strength(StrEnum):
    MEDIUM = "medium"
    STRONG = "strong"


class Rule(StrEnum):
    MIN_LENGTH = "min_length"
    MAX_LENGTH = "max_length"
    LOWERCASE = "lowercase"
    UPPERCASE = "uppercase"
    DIGIT = "digit"
    SPECIAL = "special"
    NOT_LOGIN = "not_login"
    NOT_COMMON = "not_common"


MESSAGES = {
    Rule.MIN_LENGTH: _l("At least 8 characters (10 for a strong password)"),
    Rule.MAX_LENGTH: _l("At most %(max)s characters"),
    Rule.LOWERCASE: _l("At least 1 lower-case letter"),
    Rule.UPPERCASE: _l("At least 1 upper-case letter"),
    Rule.DIGIT: _l("At least 1 digit"),
    Rule.SPECIAL: _l("At least 1 special character among # ! . @ _ - /"),
    Rule.NOT_LOGIN: _l("Different from your login"),
    Rule.NOT_COMMON: _l("Not a commonly used password"),
}


@dataclass(frozen=True)
class Evaluation:
    """The level reached, or the rules left unmet (never both)."""

    level: Strength | None
    unmet: tuple[Rule, ...]

    @property
    def ok(self) -> bool:
        return not self.unmet

    def messages(self, max_length: int = DEFAULT_MAX_LENGTH) -> list[str]:
        """The unmet rules as sentences in the current language."""
        return [
            str(MESSAGES[r]) % {"max": max_length} if r is Rule.MAX_LENGTH else str(MESSAGES[r]) for r in self.unmet
        ]


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("idp.security").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "3": "e", "$": "s", "5": "s", "7": "t"})


def is_common(password: str) -> bool:
    """Whole password, or its core once digits and symbols around it are stripped."""
    lowered = password.casefold()
    words = common_passwords()
    if lowered in words:
        return True
    for candidate in (lowered, lowered.translate(_LEET)):
        core = _DECORATION.sub("", candidate)
        if len(core) >= 4 and core in words:
            return True
    return False


def evaluate(password: str, login: str | None = None, max_length: int = DEFAULT_MAX_LENGTH) -> Evaluation:
    """Return the level ``password`` reaches for ``login``, or the rules it breaks."""
    password = normalize(password)
    unmet: list[Rule] = []
    if len(password) < MEDIUM_LENGTH:
        unmet.append(Rule.MIN_LENGTH)
    if len(password) > max_length:
        unmet.append(Rule.MAX_LENGTH)
    if not any(c.islower() for c in password):
        unmet.append(Rule.LOWERCASE)
    if not any(c.isupper() for c in password):
        unmet.append(Rule.UPPERCASE)
    if not any(c.isdigit() for c in password):
        unmet.append(Rule.DIGIT)
    if not any(c in SPECIALS for c in password):
        unmet.append(Rule.SPECIAL)
    if login and login.casefold() in password.casefold():
        unmet.append(Rule.NOT_LOGIN)
    if is_common(password):
        unmet.append(Rule.NOT_COMMON)
    if unmet:
        return Evaluation(None, tuple(unmet))
    return Evaluation(Strength.STRONG if len(password) >= STRONG_LENGTH else Strength.MEDIUM, ())
