"""Access keys (reference §2): creation within the limit, listing, status, deletion.

The limit of ``api.max_access_keys`` permanent keys per console user (inactive ones
included) holds under concurrency on both databases, twice over: a creation first writes
its console user's row (the write lock on SQLite, a row lock on PostgreSQL: parallel
creations for one user queue there), then takes a free *slot*, and ``(console_user_id,
slot)`` is unique, so even a path that forgot the lock could not make a third key.
The SK is returned once and stored only encrypted (``security.secret_box``).

Temporary keys (``securitytokens``) are capped too: at most ``api.max_temporary_keys``
live ones per console user, counted behind the same write on the console user's row
(expired ones are deleted first, so an API client that mints a key per job never runs out).
They end when the API password changes (``events.api_password_changed``): whoever learnt the
old password must not keep what they minted with it. Permanent keys are credentials of
their own and stay; every change to one is mailed to the person instead, from this module
alone, so the web page and the credentials API cannot forget it.
"""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from sqlalchemy import delete as sql_delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp import events
from idp.directory.console_users import ConsoleUser
from idp.errors import IdpError
from idp.extensions import db
from idp.extensions import rowcount
from idp.iam.models import AccessKey
from idp.keystone.tokens import iso
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security.tokens import new_token
from idp.security.tokens import token_hash

AK_ALPHABET = string.ascii_uppercase + string.digits
SK_ALPHABET = string.ascii_letters + string.digits


class TooManyKeys(IdpError):
    code = "ak_sk_num_exceed"


class TooManyTemporaryKeys(IdpError):
    code = "temporary_key_num_exceed"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def describe(key: AccessKey, *, last_use: bool = False) -> dict[str, Any]:
    data = {
        "access": key.access,
        "status": key.status,
        "user_id": key.console_user.user_id,
        "create_time": iso(key.created_at),
        "description": key.description,
    }
    if last_use:
        data["last_use_time"] = iso(key.last_use_at or key.created_at)
    return data


def permanent_keys(user: ConsoleUser) -> list[AccessKey]:
    return list(
        db.session.scalars(
            select(AccessKey)
            .where(AccessKey.console_user_id == user.id, AccessKey.expires_at.is_(None))
            .order_by(AccessKey.created_at)
        )
    )


def own_key(user: ConsoleUser, access: str) -> AccessKey | None:
    """One of ``user``'s permanent keys, or None (another user's key is not found either)."""
    key = db.session.get(AccessKey, access[:20])
    return key if key is not None and key.console_user_id == user.id and not key.temporary else None


def _new(user: ConsoleUser, **values: Any) -> tuple[AccessKey, str]:
    secret = _random(SK_ALPHABET, 40)
    key = AccessKey(
        access=_random(AK_ALPHABET, 20),
        console_user_id=user.id,
        secret_encrypted=current_app.extensions["idp.secret_box"].encrypt(secret),
        status="active",
        created_at=clock.now(),
        **values,
    )
    db.session.add(key)
    db.session.flush()
    return key, secret


def _queue_behind(user: ConsoleUser) -> None:
    """Write the console user's row before counting its keys: SQLite's write lock or
    PostgreSQL's row lock makes parallel creations for this user wait here until the first
    commits, so each counts what the previous ones wrote (a no-op write, not ``FOR UPDATE``,
    which SQLite ignores)."""
    db.session.execute(update(ConsoleUser).where(ConsoleUser.id == user.id).values(created_at=ConsoleUser.created_at))


def _tell(user: ConsoleUser, access: str, action: str) -> None:
    """Mail the person about a change to a permanent key, in the caller's transaction: a key
    works without the web password, so one made or revived by someone else must not go
    unnoticed. ``action`` is created | activated | deactivated | deleted."""
    enqueue(
        messages.for_account(
            "access-key-changed",
            user.account,
            action=action,
            access=access,
            company=user.contract_id,
            when=clock.now().strftime("%Y-%m-%d %H:%M UTC"),
            link=messages.external_url("password.forgot_password"),
        )
    )


def create(user: ConsoleUser, description: str) -> tuple[AccessKey, str]:
    """A new permanent key for ``user``, or :class:`TooManyKeys`; returns the SK once."""
    limit = current_app.config["IDP_SETTINGS"].api.max_access_keys
    _queue_behind(user)
    taken = set(
        db.session.scalars(
            select(AccessKey.slot).where(AccessKey.console_user_id == user.id, AccessKey.slot.is_not(None))
        )
    )
    free = [slot for slot in range(1, limit + 1) if slot not in taken]
    if not free or len(taken) >= limit:  # keys beyond the limit (a lowered limit, old races) count too
        raise TooManyKeys("akSkNumExceed")
    key, secret = _new(user, slot=free[0], description=description)
    audit.record(audit.EventTag.ACCESS_KEY_CREATED, user.account.id, access=key.access)
    _tell(user, key.access, "created")
    return key, secret


def create_temporary(user: ConsoleUser, duration_seconds: int) -> tuple[AccessKey, str, str]:
    """A temporary key and its security token (both returned once), or
    :class:`TooManyTemporaryKeys` when ``api.max_temporary_keys`` are alive. Not mailed:
    API clients mint them many times a day, and they end with the API password."""
    limit = current_app.config["IDP_SETTINGS"].api.max_temporary_keys
    _queue_behind(user)
    temporary = (AccessKey.console_user_id == user.id, AccessKey.expires_at.is_not(None))
    db.session.execute(sql_delete(AccessKey).where(*temporary, AccessKey.expires_at <= clock.now()))
    if db.session.scalar(select(func.count()).select_from(AccessKey).where(*temporary)) >= limit:
        raise TooManyTemporaryKeys(f"At most {limit} temporary access keys may be alive at once.")
    raw_token = new_token()
    key, secret = _new(
        user,
        description="temporary",
        expires_at=clock.now() + timedelta(seconds=duration_seconds),
        security_token_hash=token_hash(raw_token),
    )
    audit.record(audit.EventTag.ACCESS_KEY_CREATED, user.account.id, access=key.access, temporary=True)
    return key, secret, raw_token


def set_status(user: ConsoleUser, key: AccessKey, status: str) -> None:
    """Set a key's status; only a real change is audited and mailed, once even when two
    identical requests race (the conditional UPDATE's row count decides)."""
    if not rowcount(
        update(AccessKey).where(AccessKey.access == key.access, AccessKey.status != status).values(status=status)
    ):
        return
    audit.record(audit.EventTag.ACCESS_KEY_UPDATED, user.account.id, access=key.access, status=status)
    _tell(user, key.access, "activated" if status == "active" else "deactivated")


def delete(user: ConsoleUser, key: AccessKey) -> None:
    """Delete a key; audited and mailed by the request that actually removed the row."""
    access = key.access
    if not rowcount(sql_delete(AccessKey).where(AccessKey.access == access)):
        return
    audit.record(audit.EventTag.ACCESS_KEY_DELETED, user.account.id, access=access)
    _tell(user, access, "deleted")


def _api_password_changed(_app: Flask, *, console_user: ConsoleUser, **_: Any) -> None:
    """Temporary keys minted with the old API password end with it; permanent keys stay
    (they are credentials of their own, and their changes are mailed)."""
    ended = rowcount(
        sql_delete(AccessKey).where(AccessKey.console_user_id == console_user.id, AccessKey.expires_at.is_not(None))
    )
    if ended:
        audit.record(
            audit.EventTag.ACCESS_KEY_DELETED, console_user.account.id, temporary=ended, reason="api_password_changed"
        )


def init_app(app: Flask) -> None:
    events.api_password_changed.connect(_api_password_changed)
