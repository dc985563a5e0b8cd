"""Emailed verification codes: 6 digits, ``api.code_lifetime_seconds`` (60), single use,
``api.code_max_tries`` tries, stored as an HMAC keyed with the application secret; a newer
code replaces the older one.

    issue ─► [live] ─check ok──► [used]
               ├─ wrong code ──► tries+1 ─ tries = max ─► [dead]
               ├─ 60 s pass ───► [dead]
               └─ newer issue ─► [deleted]
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select

from idp import audit
from idp import clock
from idp.api.models import ConsoleUser
from idp.api.models import VerificationCode
from idp.extensions import db

PURPOSES = ("api-password-reset", "access-key")


def _mac(user: ConsoleUser, purpose: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{user.id}:{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(user: ConsoleUser, purpose: str) -> None:
    """Replace any live code of this user and purpose, and email the new one."""
    from idp.mail import messages
    from idp.mail.outbox import enqueue

    assert purpose in PURPOSES
    settings = current_app.config["IDP_SETTINGS"].api
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = clock.now()
    db.session.execute(delete(VerificationCode).where(
        VerificationCode.console_user_id == user.id, VerificationCode.purpose == purpose))
    db.session.add(VerificationCode(console_user_id=user.id, purpose=purpose, code_hmac=_mac(user, purpose, code),
                                    created_at=now, expires_at=now + timedelta(seconds=settings.code_lifetime_seconds),
                                    tries=0))
    account = user.membership.account
    enqueue(messages.for_account("verification-code", account, code=code, purpose=purpose,
                                 company=user.membership.contract_id, seconds=settings.code_lifetime_seconds))


def check(user: ConsoleUser, purpose: str, code: str) -> bool:
    """Spend one try on ``code``; True once, for the live code only."""
    settings = current_app.config["IDP_SETTINGS"].api
    row = db.session.scalar(select(VerificationCode).where(
        VerificationCode.console_user_id == user.id, VerificationCode.purpose == purpose).with_for_update())
    now = clock.now()
    if row is None or row.used_at is not None or row.expires_at <= now or row.tries >= settings.code_max_tries:
        audit.record(audit.EventTag.API_CODE_REFUSED, user.membership.account_id, purpose=purpose, reason="no live code")
        return False
    row.tries += 1
    ok = hmac.compare_digest(row.code_hmac, _mac(user, purpose, (code or "").strip()[:16]))
    if ok:
        row.used_at = now
    else:
        audit.record(audit.EventTag.API_CODE_REFUSED, user.membership.account_id, purpose=purpose, reason="wrong code")
    return ok
