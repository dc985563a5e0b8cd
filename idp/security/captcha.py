"""Captcha challenges kept server-side: single use, short-lived, case-insensitive.

The form carries only an opaque challenge id; the answer stays in the database until the
challenge is consumed (answered right or wrong, it cannot be answered twice). Images and
sounds are drawn on demand by the `captcha` package from that stored answer.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from datetime import timedelta

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import request
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import db
from idp.settings import Settings

# No look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B): every character reads and sounds distinct.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"

bp = Blueprint("captcha", __name__)


class CaptchaChallenge(db.Model):
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
    db.session.add(CaptchaChallenge(
        id=challenge_id, answer=answer, created_at=now,
        expires_at=now + timedelta(seconds=settings.captcha.max_age_seconds),
    ))
    # Expired challenges are useless: sweep a few on the way (cheap, bounded).
    db.session.execute(delete(CaptchaChallenge).where(CaptchaChallenge.expires_at < now - timedelta(hours=1)))
    return challenge_id


def check(challenge_id: str | None, typed: str | None) -> bool:
    """Consume the challenge and tell whether ``typed`` answered it."""
    settings: Settings = current_app.config["IDP_SETTINGS"]
    typed = (typed or "").strip().upper()
    if not challenge_id or len(challenge_id) > 64 or not typed:
        return False
    now = clock.now()
    challenge = db.session.get(CaptchaChallenge, challenge_id)
    consumed = db.session.execute(
        update(CaptchaChallenge)
        .where(CaptchaChallenge.id == challenge_id, CaptchaChallenge.used_at.is_(None),
               CaptchaChallenge.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if not consumed or challenge is None:
        return False
    test_answer = settings.captcha.test_answer
    if test_answer and settings.server.environment == "test" and hmac.compare_digest(typed, test_answer.upper()):
        return True
    return hmac.compare_digest(typed.encode(), challenge.answer.encode())


def _live(challenge_id: str) -> CaptchaChallenge:
    from idp.security.ratelimit import limiter

    settings: Settings = current_app.config["IDP_SETTINGS"]
    s = settings.selfservice
    if not limiter().hit(f"captcha:{request.remote_addr}", s.captcha_per_address, s.captcha_window_seconds):
        abort(429)
    challenge = db.session.get(CaptchaChallenge, challenge_id)
    if challenge is None or challenge.used_at is not None or challenge.expires_at <= clock.now():
        abort(404)
    return challenge


@bp.get("/captcha/<challenge_id>.png")
def image(challenge_id: str) -> Response:
    challenge = _live(challenge_id)
    data = ImageCaptcha(width=200, height=70).generate(challenge.answer).getvalue()
    return Response(data, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.get("/captcha/<challenge_id>.wav")
def audio(challenge_id: str) -> Response:
    challenge = _live(challenge_id)
    data = bytes(AudioCaptcha().generate(challenge.answer))
    return Response(data, mimetype="audio/wav", headers={"Cache-Control": "no-store"})
