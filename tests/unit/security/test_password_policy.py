"""The SPEC §3 password policy on a table of passwords (SEC-PWD-01..04)."""

from __future__ import annotations

import pytest

from idp.security.password_policy import Rule
from idp.security.password_policy import Strength
from idp.security.password_policy import evaluate
from idp.security.password_policy import is_common

M, S = Strength.MEDIUM, Strength.STRONG
LOGIN = "paul.dupont"

CASES = [
    # (password, expected level or None, unmet rules)
    ("Aa1#aaaa", M, ()),  # exactly 8: medium
    ("Aa1#aaaaa", M, ()),  # 9: still medium
    ("Aa1#aaaaaa", S, ()),  # 10: strong
    ("Cloud#Sky2026x", S, ()),
    ("Vx9!mq", None, (Rule.MIN_LENGTH,)),
    ("Aa1#aaa", None, (Rule.MIN_LENGTH,)),  # 7
    ("AA1#AAAAAA", None, (Rule.LOWERCASE,)),
    ("aa1#aaaaaa", None, (Rule.UPPERCASE,)),
    ("Aab#aaaaaa", None, (Rule.DIGIT,)),
    ("Aa1aaaaaaa", None, (Rule.SPECIAL,)),
    ("Aa1$aaaaaa", None, (Rule.SPECIAL,)),  # $ is not among the required specials
    ("Aa1#aaa$aa", S, ()),  # ...but other characters are allowed beside one
    ("Xy7!kzqwrt", S, ()),
    ("Xy7.kzqwrt", S, ()),
    ("Xy7@kzqwrt", S, ()),
    ("Xy7_kzqwrt", S, ()),
    ("Xy7-kzqwrt", S, ()),
    ("Xy7/kzqwrt", S, ()),
    ("Xy7#kzqwrt", S, ()),
    ("Xy7#kz qwrt", S, ()),  # spaces allowed
    ("Éléphant#42z", S, ()),  # accents allowed
    ("Fusée#7 🚀 lune", S, ()),  # emoji allowed
    ("", None, (Rule.MIN_LENGTH, Rule.LOWERCASE, Rule.UPPERCASE, Rule.DIGIT, Rule.SPECIAL)),
    ("iloveyou", None, (Rule.UPPERCASE, Rule.DIGIT, Rule.SPECIAL, Rule.NOT_COMMON)),
    ("12345678", None, (Rule.LOWERCASE, Rule.UPPERCASE, Rule.SPECIAL, Rule.NOT_COMMON)),
    # different from the login, compared without case, also when embedded
    ("paul.dupont", None, (Rule.UPPERCASE, Rule.DIGIT, Rule.NOT_LOGIN)),
    ("Paul.Dupont1", None, (Rule.NOT_LOGIN,)),
    ("PAUL.DUPONT#9x", None, (Rule.NOT_LOGIN,)),
    ("x1#Paul.dupontZ", None, (Rule.NOT_LOGIN,)),
    # common passwords, whole or decorated with digits and symbols (SEC-PWD-04)
    ("Password1!", None, (Rule.NOT_COMMON,)),
    ("Welcome#2024", None, (Rule.NOT_COMMON,)),
    ("Qwerty_123", None, (Rule.NOT_COMMON,)),
    ("P@ssw0rd!", None, (Rule.NOT_COMMON,)),
    ("Azerty#1234", None, (Rule.NOT_COMMON,)),
    ("Soleil.2025", None, (Rule.NOT_COMMON,)),
    ("#Football99", None, (Rule.NOT_COMMON,)),
    ("Dragon_2026", None, (Rule.NOT_COMMON,)),
    ("Iloveyou!1", None, (Rule.NOT_COMMON,)),
]


@pytest.mark.parametrize(("password", "level", "unmet"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_policy(password: str, level: Strength | None, unmet: tuple[Rule, ...]) -> None:
    result = evaluate(password, LOGIN)
    assert result.level == level
    assert set(result.unmet) == set(unmet)
    assert result.ok is (level is not None)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert {r for _, _, unmet in CASES for r in unmet} >= set(Rule) - {Rule.MAX_LENGTH}


def test_maximum_length() -> None:
    assert evaluate("Aa1#" + "x" * 124).level == S  # 128 characters
    result = evaluate("Aa1#" + "x" * 125)
    assert result.unmet == (Rule.MAX_LENGTH,)
    assert "128" in result.messages()[1 - 1]


def test_every_rule_has_a_message() -> None:
    result = evaluate("")
    assert len(result.messages()) == len(result.unmet)
    assert all(result.messages())


def test_long_random_passwords_are_not_common() -> None:
    assert not is_common("Tr0ub4dor&3-horse")
    assert not is_common("Kj8#mW2!qZ")


def test_normalization_makes_compatible_forms_equal() -> None:
    # Full-width letters fold to ASCII, so the login check cannot be dodged with them.
    assert Rule.NOT_LOGIN in evaluate("Ｐａｕｌ.ｄｕｐｏｎｔ#1", LOGIN).unmet
