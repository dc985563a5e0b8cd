"""The captcha's image and sound (``security.captcha`` keeps the challenges and draws each
medium once per challenge); fetches are limited per address (an IPv6 address: its /64).
Also a fresh challenge for the pages' *Load another image* (``static/js/captcha.js``)."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request
from flask import url_for

from idp.extensions import db
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


@bp.post("/captcha/new")
def new() -> Response:
    """A new challenge for a page's form, so that *Load another image* swaps the image (and
    the hidden challenge id) without reloading the page and losing what was typed. A POST,
    so the CSRF check applies (the page's script sends the form's token); challenges are
    limited per address by ``captcha.new_challenge`` as when a page draws one."""
    challenge_id = captcha.new_challenge()
    db.session.commit()
    response = jsonify(
        id=challenge_id,
        image=url_for("captcha.image", challenge_id=challenge_id),
        audio=url_for("captcha.audio", challenge_id=challenge_id),
    )
    response.headers["Cache-Control"] = "no-store"
    return response
