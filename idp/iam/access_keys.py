"""Access keys (reference §2): creation within the limit, listing, status, deletion.

The limit of ``api.max_access_keys`` permanent keys per console user (inactive ones
included) holds under concurrency on both databases, twice over: a creation first writes
its console user's row (the write lock on SQLite, a row lock on PostgreSQL: parallel
creations for one user queue there), then takes a free *slot*, and ``(console_user_id,
slot)`` is unique, so even a path that forgot the lock could not make a third key.
The SK is returned once and stored only encrypted (``security.secret_box``).
"""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp.directory.console_users import ConsoleUser
from idp.errors import IdpError
from idp.extensions import db
from idp.iam.models import AccessKey
from idp.keystone.tokens import iso
from idp.security import audit
from idp.security.tokens import new_token
from idp.security.tokens import token_hash

AK_ALPHABET = string.ascii_uppercase + string.digits
SK_ALPHABET = string.ascii_letters + string.digits


class TooManyKeys(IdpError):
    code = "ak_sk_num_exceed"


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


def create(user: ConsoleUser, description: str) -> tuple[AccessKey, str]:
    """A new permanent key for ``user``, or :class:`TooManyKeys`; returns the SK once."""
    limit = current_app.config["IDP_SETTINGS"].api.max_access_keys
    # Write first: parallel creations for this user queue here until this one commits.
    db.session.execute(update(ConsoleUser).where(ConsoleUser.id == user.id).values(created_at=ConsoleUser.created_at))
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
    return key, secret


def create_temporary(user: ConsoleUser, duration_seconds: int) -> tuple[AccessKey, str, str]:
    """A temporary key and its security token (both returned once)."""
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
    key.status = status
    audit.record(audit.EventTag.ACCESS_KEY_UPDATED, user.account.id, access=key.access, status=status)


def delete(user: ConsoleUser, key: AccessKey) -> None:
    db.session.delete(key)
    audit.record(audit.EventTag.ACCESS_KEY_DELETED, user.account.id, access=key.access)
