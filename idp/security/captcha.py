"""Captcha challenges kept server-side: single use, short-lived, case-insensitive.

The form carries only an opaque challenge id; the answer stays in the database until the
challenge is consumed (answered right or wrong, it cannot be answered twice). Images and
sounds are drawn by the `captcha` package from that stored answer (``selfservice.captcha``
serves them).

What a challenge may cost is bounded:

- each address (an IPv6 one: its /64) creates at most
  ``selfservice.captcha_challenges_per_address`` challenges per window (:func:`new_challenge`);
- each medium is drawn once per challenge, on its first fetch, and kept in the challenge's
  own row until the challenge is answered or expires (:func:`media`). The sound costs
  ~215 ms of CPU and ~120 KB; a process cache would draw it once per worker process and
  hold memory nobody bounds, while the row gives one drawing per challenge across all
  processes and goes with the row (answered: emptied at once; expired: purged). Two
  first fetches in the same instant may both draw; the first write wins.

:data:`RENDERINGS` counts drawings in this process (tests read it).
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from datetime import datetime
from datetime import timedelta

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from flask import current_app
from flask import has_request_context
from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.errors import IdpError
from idp.extensions import Model
from idp.extensions import db
from idp.security import ratelimit
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
    # The media, drawn on first fetch (deferred: loading a challenge never loads them).
    image_png: Mapped[bytes | None] = mapped_column(LargeBinary(), deferred=True)
    audio_wav: Mapped[bytes | None] = mapped_column(LargeBinary(), deferred=True)


class TooManyChallenges(IdpError):
    """This address asked for more challenges than its window allows."""

    code, status = "too_many_requests", 429
    message = _l("Too many requests. Please try again later.")


# Drawings of each medium by this process: what repeated fetches cost (tests read it).
RENDERINGS: Counter[str] = Counter()
MEDIA = {"image": "image_png", "audio": "audio_wav"}


def new_challenge() -> str:
    """Create a challenge (in the current transaction) and return its id; raises
    :class:`TooManyChallenges` once the client's address is over its limit (counted first,
    committed on its own; outside a request there is no client to count)."""
    settings: Settings = current_app.config["IDP_SETTINGS"]
    s = settings.selfservice
    if has_request_context():
        key = ratelimit.address_key("captcha-challenge", request.remote_addr)
        if not ratelimit.hit(key, s.captcha_challenges_per_address, s.captcha_window_seconds):
            error = TooManyChallenges()
            error.retry_after = s.captcha_window_seconds
            raise error
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
        .values(used_at=now, image_png=None, audio_wav=None)  # its media are of no more use
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


def media(challenge: CaptchaChallenge, kind: str) -> bytes:
    """The challenge's ``image`` or ``audio``: drawn on its first fetch, then read back."""
    column = CaptchaChallenge.__table__.c[MEDIA[kind]]
    stored = db.session.scalar(select(column).where(CaptchaChallenge.id == challenge.id))
    if stored is not None:
        return bytes(stored)
    drawn = image(challenge.answer) if kind == "image" else audio(challenge.answer)
    db.session.execute(
        update(CaptchaChallenge.__table__)
        .where(CaptchaChallenge.id == challenge.id, column.is_(None), CaptchaChallenge.used_at.is_(None))
        .values({column: drawn})
    )
    db.session.commit()
    return drawn


def image(answer: str) -> bytes:
    RENDERINGS["image"] += 1
    return ImageCaptcha(width=200, height=70).generate(answer).getvalue()


def audio(answer: str) -> bytes:
    RENDERINGS["audio"] += 1
    return bytes(AudioCaptcha().generate(answer))
