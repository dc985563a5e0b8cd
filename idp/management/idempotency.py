"""Idempotency keys of the management API's creations (``Idempotency-Key`` header).

A POST names a key of the caller's choosing; the same caller sending the same key again
within :data:`WINDOW` gets the first answer back, replayed, without a second creation:

    POST + key ─ no live row for (caller, key) ─► INSERT the key row (claims it), do the work,
                                                 store the answer on the row, one COMMIT
               ─ live row, same request ─────────► the stored answer (Idempotent-Replayed: true)
               ─ live row, another request ──────► 422 idempotency_key_reused
               ─ live row, still being answered ─► 409 idempotency_in_progress (retry)

The key row and the creation commit together: a refusal (a 4xx) rolls both back, so a
retry with the same key is tried again, and a creation that happened always has its key.
Two requests racing with one key meet on the row's unique index: the second waits for the
first's commit, fails its INSERT, and replays what the first stored. Keys are kept hashed
(they may be guessable, and need not be readable); rows go with the maintenance purge.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import Response
from flask import jsonify
from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import Model
from idp.extensions import db
from idp.jobs import Runner
from idp.management.errors import ApiError
from idp.settings import Settings

WINDOW = timedelta(hours=24)
HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as the IETF draft's examples

KEY_REQUIRED = _l("This request needs an Idempotency-Key header (1 to 255 visible characters).")
KEY_REUSED = _l("This Idempotency-Key was already used for another request.")
KEY_BUSY = _l("A request with this Idempotency-Key is still being answered. Please retry in a moment.")


class IdempotencyKey(Model):
    """One key of one caller: the request it was first used for, and the answer given."""

    __tablename__ = "management_idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the method, path and canonical JSON body: "the same request".
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    __table_args__ = (UniqueConstraint("account_id", "key_hash"),)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return _sha256(f"{request.method} {request.path}\n{canonical}")


def _live(account_id: int, key_hash: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key_hash == key_hash,
            IdempotencyKey.expires_at > clock.now(),
        )
    )


def _replay(row: IdempotencyKey, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        raise ApiError(422, "idempotency_key_reused", KEY_REUSED, field=HEADER)
    if row.status is None or row.body is None:
        raise ApiError(409, "idempotency_in_progress", KEY_BUSY, headers={"Retry-After": "1"})
    response = jsonify(json.loads(row.body))
    response.status_code = row.status
    response.headers["Idempotent-Replayed"] = "true"
    return response


def key_from_request() -> str:
    key = request.headers.get(HEADER)
    if key is None or not KEY_RE.fullmatch(key):
        raise ApiError(400, "idempotency_key_required", KEY_REQUIRED, field=HEADER)
    return key


def run(account_id: int, body: Any, create: Callable[[], tuple[dict[str, Any], int]]) -> Response:
    """Answer a creation once per (caller, key): ``create`` does the work in this
    transaction and returns the JSON answer and its status; everything commits here."""
    key_hash = _sha256(key_from_request())
    request_hash = fingerprint(body)
    found = _live(account_id, key_hash)
    if found is not None:
        return _replay(found, request_hash)
    now = clock.now()
    # An expired row of the same key is over: it gives way to this request.
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key_hash == key_hash,
            IdempotencyKey.expires_at <= now,
        )
    )
    row = IdempotencyKey(
        account_id=account_id, key_hash=key_hash, request_hash=request_hash, created_at=now, expires_at=now + WINDOW
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # another request holds this key: it has committed by now
        found = _live(account_id, key_hash)
        if found is None:
            raise ApiError(409, "idempotency_in_progress", KEY_BUSY, headers={"Retry-After": "1"}) from None
        return _replay(found, request_hash)
    answer, status = create()
    row.status, row.body = status, json.dumps(answer)
    db.session.commit()
    response = jsonify(answer)
    response.status_code = status
    return response


def init_app(app: Flask, settings: Settings) -> None:
    runner: Runner = app.extensions["idp.jobs"]
    runner.add_purge(IdempotencyKey.__table__, lambda now: IdempotencyKey.expires_at < now)
