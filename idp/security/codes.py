"""Emailed verification codes: 6 digits, ``api.code_lifetime_seconds`` (60), single use,
``api.code_max_tries`` tries, stored as a keyed hash; a newer code of the same user, purpose
and scope replaces the older one.

    issue ─► [live] ─check ok──► [used]
               ├─ wrong code ──► tries+1 ─ tries = max ─► [dead]
               ├─ 60 s pass ───► [dead]
               └─ newer issue ─► [deleted]

A try is *spent before the comparison*, by one conditional ``UPDATE … WHERE tries < max
RETURNING``, committed at once: parallel guesses cannot all read "no try spent yet" (SQLite
ignores ``SELECT … FOR UPDATE``), so at most ``code_max_tries`` of them are ever compared.
Codes belong to a console user (ON DELETE CASCADE); the caller mails the code it is given.

A code may also belong to a *scope*: an API-password reset flow's id hash (``""`` for My
Credential's codes, which the signed-in user asks for). Anyone who passes one captcha can
open a flow naming someone else; were codes per user only, that flow's *Get code* would
replace the person's live code and its wrong guesses would burn the person's tries. Scoped,
a flow can only replace, spend or satisfy its own code.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import Model
from idp.extensions import db
from idp.extensions import rowcount
from idp.security import audit
from idp.security.keyed_hash import Purpose
from idp.security.keyed_hash import mac


class CodePurpose(StrEnum):
    API_PASSWORD_RESET = "api-password-reset"  # noqa: S105 - a purpose label, not a secret
    ACCESS_KEY = "access-key"


class VerificationCode(Model):
    """A 60-second emailed code, stored as a keyed hash; one live code per user, purpose and
    scope."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    console_user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    # The flow it was issued for (its id hash), or "" (module docstring).
    scope: Mapped[str] = mapped_column(String(64), default="", server_default="")
    code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _mac(console_user_id: int, purpose: CodePurpose, code: str) -> str:
    return mac(Purpose.VERIFICATION_CODE, f"{console_user_id}:{purpose.value}:{code}")


def issue(console_user_id: int, purpose: CodePurpose, *, scope: str = "") -> str:
    """Replace any code of this user, purpose and scope (in the caller's transaction), and
    sweep their expired ones of other scopes; return the new code, for the caller to mail."""
    settings = current_app.config["IDP_SETTINGS"].api
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = clock.now()
    table = VerificationCode.__table__
    db.session.execute(
        delete(table).where(
            table.c.console_user_id == console_user_id,
            table.c.purpose == purpose.value,
            or_(table.c.scope == scope, table.c.expires_at <= now),
        )
    )
    db.session.execute(
        insert(table).values(
            console_user_id=console_user_id,
            purpose=purpose.value,
            scope=scope,
            code_hmac=_mac(console_user_id, purpose, code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.code_lifetime_seconds),
            tries=0,
        )
    )
    return code


def forget(console_user_ids: list[int], *, scopes: list[str] | None = None) -> None:
    """Delete every code of these console users (they went to an address no longer theirs),
    or only those of ``scopes`` (flows that ended)."""
    if console_user_ids:
        table = VerificationCode.__table__
        query = delete(table).where(table.c.console_user_id.in_(console_user_ids))
        if scopes is not None:
            query = query.where(table.c.scope.in_(scopes))
        db.session.execute(query)


def check(console_user_id: int, purpose: CodePurpose, code: str, *, account_id: int | None, scope: str = "") -> bool:
    """Spend one try on ``code``; True once, for the live code of this scope only. Commits
    the spent try, and the code's use when it matches."""
    settings = current_app.config["IDP_SETTINGS"].api
    now = clock.now()
    table = VerificationCode.__table__
    spent = db.session.execute(
        update(table)
        .where(
            table.c.console_user_id == console_user_id,
            table.c.purpose == purpose.value,
            table.c.scope == scope,
            table.c.used_at.is_(None),
            table.c.expires_at > now,
            table.c.tries < settings.code_max_tries,
        )
        .values(tries=table.c.tries + 1)
        .returning(table.c.id, table.c.code_hmac)
    ).first()
    db.session.commit()  # the try stays spent, whatever happens next
    if spent is None:
        audit.record(audit.EventTag.API_CODE_REFUSED, account_id, purpose=purpose.value, reason="no live code")
        return False
    if not hmac.compare_digest(spent.code_hmac, _mac(console_user_id, purpose, (code or "").strip()[:16])):
        audit.record(audit.EventTag.API_CODE_REFUSED, account_id, purpose=purpose.value, reason="wrong code")
        return False
    used = rowcount(update(table).where(table.c.id == spent.id, table.c.used_at.is_(None)).values(used_at=now))
    # Used for good now: what the code unlocks (an argon2 hash, a key) runs after, holding no lock.
    db.session.commit()
    return bool(used)
