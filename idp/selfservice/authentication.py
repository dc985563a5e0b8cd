"""Password authentication: throttling, constant-cost verification, transparent rehash.

Unknown login, account without a password, disabled account and wrong password all take
one argon2 verification and end in the same :class:`InvalidCredentials`, so neither the
answer nor its timing tells them apart.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime

from flask import current_app
from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp import audit
from idp import clock
from idp.directory.models import Account
from idp.errors import IdpError
from idp.extensions import db
from idp.security.passwords import PasswordHasher
from idp.security.throttle import LoginThrottle
from idp.selfservice.forms import BAD_CREDENTIALS
from idp.selfservice.forms import LOCKED


class InvalidCredentials(IdpError):
    code, status = "invalid_credentials", 401
    message = BAD_CREDENTIALS


class LoginLocked(IdpError):
    code, status = "too_many_attempts", 429
    message = _l("Too many failed attempts. Please try again later.")

    def __init__(self, until: datetime) -> None:
        minutes = max(1, math.ceil((until - clock.now()).total_seconds() / 60))
        super().__init__(str(LOCKED) % {"minutes": minutes})
        self.until = until


def canonical_login(login: str) -> str:
    """One spelling per login: full-width, case and surrounding spaces do not matter."""
    return unicodedata.normalize("NFKC", login).strip().casefold()


def authenticate(login: str, password: str) -> Account:
    """Return the account for these credentials, or raise (after recording the attempt)."""
    hasher: PasswordHasher = current_app.extensions["idp.hasher"]
    throttle: LoginThrottle = current_app.extensions["idp.throttle"]
    settings = current_app.config["IDP_SETTINGS"]
    key = canonical_login(login)
    address = request.remote_addr

    state = throttle.check(key, address)
    if state.locked_until is not None:
        audit.record(audit.EventTag.LOGIN_LOCKED, None, subject=audit.subject_hash(key))
        db.session.commit()
        raise LoginLocked(state.locked_until)

    account = db.session.scalar(select(Account).where(Account.login_canonical == key))
    stored = account.password_hash if account is not None and account.is_active else None
    too_long = len(password) > settings.passwords.max_length
    ok = False if too_long else hasher.verify(stored, password)
    if not ok:
        locked = throttle.fail(key, address)
        audit.record(
            audit.EventTag.LOGIN_FAILURE,
            account.id if account else None,
            subject=audit.subject_hash(key),
            locked=locked,
        )
        db.session.commit()
        raise InvalidCredentials()

    assert account is not None and stored is not None
    if state.login_has_failures:
        throttle.succeed(key)
    if hasher.needs_rehash(stored):
        account.password_hash = hasher.hash(password)
        audit.record(audit.EventTag.PASSWORD_REHASHED, account.id)
    return account
