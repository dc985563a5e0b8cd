"""The one password check, for every entry point: web login, Keystone, My Credential,
the current password of My account.

    typed identifier ──canonical form──► lookup ──► throttle key: the credential's id if
    known (every spelling and the id path share it), else the canonical form's keyed hash
      ──reserve an attempt (refused at once when locked)──► length guard ──► one argon2
      verification (a dummy one when nobody or no password matched)
        ├─ wrong ──► the reservation stays counted, audit row, one answer for every cause
        └─ right ──► the credential's counter cleared, rehash if the parameters changed

Unknown identifier, credential without a password, disabled account and wrong password
all take one verification and end in the same :class:`InvalidCredentials`, so neither the
answer nor its timing tells them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic
from typing import TypeVar

from flask import current_app
from flask import request
from flask_babel import lazy_gettext as _l

from idp.database import commit_counters
from idp.errors import IdpError
from idp.extensions import db
from idp.security import audit
from idp.security import canonical
from idp.security.keyed_hash import Purpose
from idp.security.keyed_hash import mac
from idp.security.passwords import HasherBusy
from idp.security.passwords import PasswordHasher
from idp.security.throttle import Locked
from idp.security.throttle import throttle

BAD_CREDENTIALS = _l("Incorrect login or password.")


class InvalidCredentials(IdpError):
    code, status = "invalid_credentials", 401
    message = BAD_CREDENTIALS


T = TypeVar("T")


@dataclass(frozen=True)
class Subject(Generic[T]):
    """A password-holding credential found by a lookup, and what holds it (an account…)."""

    holder: T
    # One per credential, whatever spelling found it: "account:42", "console-user:7".
    throttle_key: str
    account_id: int | None
    # None: nothing to check against (no password set, disabled account): a dummy verification.
    password_hash: str | None
    # Stores a new hash of the same password when argon2's parameters changed.
    rehash: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Realm:
    """Which credentials a check is about, and how its outcome is audited."""

    name: str
    failure: audit.EventTag
    locked: audit.EventTag


WEB = Realm("web", audit.EventTag.LOGIN_FAILURE, audit.EventTag.LOGIN_LOCKED)
WEB_REAUTH = Realm("web", audit.EventTag.PASSWORD_CHANGE_FAILED, audit.EventTag.LOGIN_LOCKED)
API = Realm("api", audit.EventTag.API_LOGIN_FAILURE, audit.EventTag.API_LOGIN_LOCKED)


def account_key(account_id: int) -> str:
    """The throttle key of an account's web password."""
    return f"account:{account_id}"


def console_user_key(console_user_id: int) -> str:
    """The throttle key of a console user's API password."""
    return f"console-user:{console_user_id}"


def hasher() -> PasswordHasher:
    app_hasher: PasswordHasher = current_app.extensions["idp.hasher"]
    return app_hasher


def verify(
    realm: Realm,
    typed: str,
    password: str,
    find: Callable[[str], Subject[T] | None],
    *,
    scope: str = "",
    canonicalise: Callable[[str], str] = canonical.login,
) -> Subject[T]:
    """Check a password given with a typed identifier; ``find`` looks up its canonical form."""
    identifier = canonicalise(typed)[:512]
    subject = find(identifier)
    key = (
        subject.throttle_key
        if subject is not None
        else (f"{realm.name}:unknown:{mac(Purpose.COUNTER_KEY, f'{scope}/{identifier}', length=40)}")
    )
    return _check(realm, key, subject, password)


def check(realm: Realm, subject: Subject[T], password: str) -> Subject[T]:
    """Check the password of an already known credential (re-authentication)."""
    return _check(realm, subject.throttle_key, subject, password)


def _check(realm: Realm, key: str, subject: Subject[T] | None, password: str) -> Subject[T]:
    account_id = subject.account_id if subject is not None else None
    correlation = audit.subject_hash(key)
    try:
        reservation = throttle().reserve(key, request.remote_addr)
    except Locked:
        audit.record(realm.locked, account_id, subject=correlation)
        db.session.commit()
        raise
    settings = current_app.config["IDP_SETTINGS"]
    stored = subject.password_hash if subject is not None else None
    try:
        # An over-long password is refused before hashing, like a wrong one (no hint given).
        ok = len(password) <= settings.passwords.max_length and hasher().verify(stored, password)
    except HasherBusy:
        throttle().abandoned(reservation)
        db.session.commit()
        raise
    if not ok:
        throttle().failed(reservation)
        audit.record(realm.failure, account_id, subject=correlation, locked=reservation.locks)
        db.session.commit()
        raise InvalidCredentials()
    assert subject is not None and stored is not None
    throttle().succeeded(reservation)
    # Committed at once: a right password must not stay counted as a failure if the request
    # goes wrong later (a policy error, a bad scope), and no lock may be held while rehashing.
    commit_counters()
    if subject.rehash is not None and hasher().needs_rehash(stored):
        subject.rehash(hasher().hash(password))
        audit.record(audit.EventTag.PASSWORD_REHASHED, account_id)
    return subject
