"""A new password, applied the one way: the policy, argon2id, then what each path ends.

Web passwords change through a reset link, through My account, or by an operator
(``idp users set-password``); all three call :func:`apply`, which differs only by reason:

| reason | sessions ended | lockout cleared | confirmation email |
|---|---|---|---|
| ``reset`` (the person followed a mailed link) | every one | yes | yes |
| ``change`` (My account, current password given) | all but the current one | yes | yes |
| ``operator`` (``idp users set-password``) | every one | yes | when it replaces a password |

Why the operator path ends every session: an operator sets a password when the old one is
lost or suspected stolen; sessions opened with the old one must not outlive it. Its first
password for a new account is not a *change*, so no notice goes out then.

Ending sessions and sending the email are announced with ``events.password_changed``
(``sessions`` ends them, which revokes their tokens and sends back-channel logouts;
``selfservice.notifications`` sends the email), so this module depends on neither. API
passwords (``directory.console_users``) share :func:`prepare`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from flask import current_app

from idp import clock
from idp import events
from idp.errors import ValidationError
from idp.security import audit
from idp.security import password_policy
from idp.security.credentials import account_key
from idp.security.credentials import hasher
from idp.security.throttle import throttle


class Reason(StrEnum):
    RESET = "reset"
    CHANGE = "change"
    OPERATOR = "operator"


_AUDIT = {
    Reason.RESET: audit.EventTag.PASSWORD_RESET_COMPLETED,
    Reason.CHANGE: audit.EventTag.PASSWORD_CHANGED,
    Reason.OPERATOR: audit.EventTag.PASSWORD_SET,
}


class PolicyRefused(ValidationError):
    """The password breaks the policy; ``messages`` are the unmet rules, translated."""

    code = "password_policy"

    def __init__(self, messages: list[str]) -> None:
        super().__init__("password refused: " + "; ".join(messages))
        self.messages = messages


class PasswordHolder(Protocol):
    id: int
    login: str
    password_hash: str | None
    password_changed_at: datetime | None


@dataclass(frozen=True)
class Prepared:
    hash: str
    level: password_policy.Strength


def policy_errors(password: str, login: str | None) -> list[str]:
    """The unmet rules of ``password`` for ``login`` (empty when it is acceptable)."""
    max_length = current_app.config["IDP_SETTINGS"].passwords.max_length
    return password_policy.evaluate(password, login, max_length).messages(max_length)


def prepare(password: str, login: str) -> Prepared:
    """Check the policy and hash, or raise :class:`PolicyRefused`."""
    max_length = current_app.config["IDP_SETTINGS"].passwords.max_length
    result = password_policy.evaluate(password, login, max_length)
    if not result.ok or result.level is None:
        raise PolicyRefused(result.messages(max_length))
    return Prepared(hasher().hash(password), result.level)


def apply(account: PasswordHolder, password: str, reason: Reason, *, keep_session_hash: str | None = None) -> None:
    """Set ``account``'s web password for ``reason`` (in the caller's transaction)."""
    prepared = prepare(password, account.login)
    first = account.password_hash is None
    account.password_hash = prepared.hash
    account.password_changed_at = clock.now()
    throttle().clear(account_key(account.id))
    audit.record(_AUDIT[reason], account.id)
    events.password_changed.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        account=account,
        reason=reason,
        keep_session_hash=keep_session_hash,
        first=first,
    )
