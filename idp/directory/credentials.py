"""The directory's passwords as subjects of the one password check (``security.credentials``):
the web password of an account, the API password of a console user.

This module only says how a typed identifier finds its credential; the check itself
(throttle, dummy hash, one answer, audit) is the security package's.
"""

from __future__ import annotations

from sqlalchemy import select

from idp.directory import console_users
from idp.directory.console_users import ConsoleUser
from idp.directory.models import Account
from idp.extensions import db
from idp.security import credentials


def web_subject(account: Account) -> credentials.Subject[Account]:
    def rehash(new_hash: str) -> None:
        account.password_hash = new_hash

    usable = account.password_hash if account.is_active else None
    return credentials.Subject(account, credentials.account_key(account.id), account.id, usable, rehash)


def api_subject(user: ConsoleUser) -> credentials.Subject[ConsoleUser]:
    def rehash(new_hash: str) -> None:
        user.api_password_hash = new_hash

    return credentials.Subject(
        user, credentials.console_user_key(user.id), user.account.id, user.api_password_hash, rehash
    )


def _by_login(canonical_login: str) -> credentials.Subject[Account] | None:
    account = db.session.scalar(select(Account).where(Account.login_canonical == canonical_login))
    return web_subject(account) if account is not None else None


def authenticate(login: str, password: str) -> Account:
    """The account for a login and web password, or ``InvalidCredentials`` / ``Locked``."""
    return credentials.verify(credentials.WEB, login, password, _by_login).holder


def authenticate_api_name(company_account: str, name: str, password: str) -> ConsoleUser:
    """The console user for a company account, user name and API password."""

    def find(canonical_name: str) -> credentials.Subject[ConsoleUser] | None:
        user = console_users.by_name(company_account, canonical_name) if company_account else None
        return api_subject(user) if user is not None else None

    return credentials.verify(credentials.API, name, password, find, scope=company_account).holder


def authenticate_api_user_id(user_id: str, password: str) -> ConsoleUser:
    """The console user for an IAM user id and API password (same counter as by name)."""

    def find(canonical_id: str) -> credentials.Subject[ConsoleUser] | None:
        user = console_users.by_user_id(canonical_id)
        return api_subject(user) if user is not None else None

    return credentials.verify(
        credentials.API, user_id, password, find, scope="user-id", canonicalise=lambda value: value.strip().lower()
    ).holder
