"""Emails that tell people what changed on their account, sent on domain events.

The change and its email commit together: receivers run in the sender's transaction and
only queue the message (``mail.outbox``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import current_app

from idp import events
from idp.directory.console_users import ConsoleUser
from idp.directory.models import Account
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import codes
from idp.security.codes import CodePurpose
from idp.security.new_password import Reason


def _password_changed(_app: Flask, *, account: Account, reason: Reason, first: bool, **_: Any) -> None:
    if reason is Reason.OPERATOR and first:
        return  # an account's first password, set by an operator, changes nothing to tell about
    enqueue(messages.for_account("password-changed", account, link=messages.external_url("password.forgot_password")))


def _api_password_changed(_app: Flask, *, console_user: ConsoleUser, **_: Any) -> None:
    enqueue(
        messages.for_account(
            "api-password-changed", console_user.membership.account, company=console_user.membership.contract_id
        )
    )


def send_verification_code(user: ConsoleUser, purpose: CodePurpose) -> None:
    """Issue a code and mail it to the console user's person, in the caller's transaction."""
    code = codes.issue(user.id, purpose)
    enqueue(
        messages.for_account(
            "verification-code",
            user.account,
            code=code,
            purpose=purpose.value,
            company=user.contract_id,
            seconds=current_app.config["IDP_SETTINGS"].api.code_lifetime_seconds,
        )
    )


def init_app(app: Flask) -> None:
    events.password_changed.connect(_password_changed)
    events.api_password_changed.connect(_api_password_changed)
