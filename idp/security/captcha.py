"""Captcha challenges kept server-side: single use, short-lived, case-insensitive.

The form carries only an opaque challenge id; the answer stays in the database until the
challenge is consumed (answered right or wrong, it cannot be answered twice). Images and
sounds are drawn on demand by the `captcha` package from that stored answer
(``selfservice.captcha`` serves them).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from datetime import timedelta

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from flask import current_app
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import Model
from idp.extensions import db
from idp.settings import Settings

# No look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B): every character reads and sounds distinct.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


class CaptchaChallenge(Model):
    __tablename__ = "captcha_challenges"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    answer: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def new_challenge() -> str:
    """Create a challenge (in the current transaction) and return its id."""
    settings: Settings = current_app.config["IDP_SETTINGS"]
    now = clock.now()
    challenge_id = secrets.token_urlsafe(32)
    answer = "".join(secrets.choice(ALPHABET) for _ in range(settings.captcha.length))
    db.session.add(
        CaptchaChallenge(
            id=challenge_id,
            answer=answer,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.captcha.max_age_seconds),
        )
    )
    # Expired challenges are useless: sweep a few on the way (cheap, bounded).
    db.session.execute(delete(CaptchaChallenge).where(CaptchaChallenge.expires_at < now - timedelta(hours=1)))
    return challenge_id


def check(challenge_id: str | None, typed: str | None) -> bool:
    """Consume the challenge and tell whether ``typed`` answered it.

    One conditional ``UPDATE … WHERE used_at IS NULL RETURNING answer``: of parallel
    answers to one challenge, exactly one reads the answer, on SQLite and PostgreSQL alike.
    """
    settings: Settings = current_app.config["IDP_SETTINGS"]
    typed = (typed or "").strip().upper()
    if not challenge_id or len(challenge_id) > 64 or not typed:
        return False
    now = clock.now()
    table = CaptchaChallenge.__table__
    answer = db.session.execute(
        update(table)
        .where(table.c.id == challenge_id, table.c.used_at.is_(None), table.c.expires_at > now)
        .values(used_at=now)
        .returning(table.c.answer)
    ).scalar()
    db.session.commit()  # answered once, for good, whatever the request does next
    if answer is None:
        return False
    test_answer = settings.captcha.test_answer
    if test_answer and settings.server.environment == "test" and hmac.compare_digest(typed, test_answer.upper()):
        return True
    return hmac.compare_digest(typed.encode(), answer.encode())


def live(challenge_id: str) -> CaptchaChallenge | None:
    """The challenge if it can still be answered (to draw it), else None."""
    challenge = db.session.get(CaptchaChallenge, challenge_id[:64])
    if challenge is None or challenge.used_at is not None or challenge.expires_at <= clock.now():
        return None
    return challenge


def image(answer: str) -> bytes:
    return ImageCaptcha(width=200, height=70).generate(answer).getvalue()


def audio(answer: str) -> bytes:
    return bytes(AudioCaptcha().generate(answer))
