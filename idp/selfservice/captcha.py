"""The captcha's image and sound (``security.captcha`` keeps the challenges and draws each
medium once per challenge); fetches are limited per address (an IPv6 address: its /64)."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import request

from idp.security import captcha
from idp.security import ratelimit
from idp.security.captcha import CaptchaChallenge

bp = Blueprint("captcha", __name__)


def _live(challenge_id: str) -> CaptchaChallenge:
    s = current_app.config["IDP_SETTINGS"].selfservice
    if not ratelimit.hit(
        ratelimit.address_key("captcha", request.remote_addr), s.captcha_per_address, s.captcha_window_seconds
    ):
        abort(429)
    challenge = captcha.live(challenge_id)
    if challenge is None:
        abort(404)
    return challenge


@bp.get("/captcha/<challenge_id>.png")
def image(challenge_id: str) -> Response:
    return Response(
        captcha.media(_live(challenge_id), "image"), mimetype="image/png", headers={"Cache-Control": "no-store"}
    )


@bp.get("/captcha/<challenge_id>.wav")
def audio(challenge_id: str) -> Response:
    return Response(
        captcha.media(_live(challenge_id), "audio"), mimetype="audio/wav", headers={"Cache-Control": "no-store"}
    )
