"""Abuse limits shared by the self-service flows: per client address and per target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from idp.extensions import db
from idp.security import audit
from idp.security import captcha
from idp.security import ratelimit
from idp.selfservice.forms import TOO_MANY
from idp.selfservice.forms import WRONG_CAPTCHA


def within_limits(purpose: str, target: str) -> bool:
    """Count this request against its address and its canonical target; False once either is over.

    Call before the request writes anything (the counter commits on its own)."""
    s = current_app.config["IDP_SETTINGS"].selfservice
    window = s.request_window_seconds
    by_address = ratelimit.hit(ratelimit.address_key(purpose, request.remote_addr), s.requests_per_address, window)
    by_target = ratelimit.hit(ratelimit.target_key(purpose, target), s.requests_per_target, window)
    if by_address and by_target:
        return True
    audit.record(audit.EventTag.RATE_LIMITED, None, purpose=purpose, subject=audit.subject_hash(target))
    return False


class Decoy:
    """Stands in for an account when a request names nobody, so that the same email is
    rendered (and the same time spent) whether or not the target exists."""

    first_name = "Paul"
    login = "decoy.login"


def render_with_captcha(template: str, form: FlaskForm, status: int = 200, **context: Any) -> ResponseReturnValue:
    """Every render gets a fresh challenge: a challenge is good for one answer only."""
    form.captcha_id.data = captcha.new_challenge()
    form.captcha.data = ""
    db.session.commit()
    return render_template(template, form=form, **context), status


def captcha_request(
    form: FlaskForm,
    *,
    purpose: str,
    target: str,
    template: str,
    sent_template: str,
    act: Callable[[], None],
    context: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    """The non-revealing request pages: fields, then limits, then captcha, then ``act``;
    the same confirmation page whatever ``act`` found."""
    if not form.validate():
        return render_with_captcha(template, form, 400)
    if not within_limits(purpose, target):
        return render_with_captcha(template, form, 429, error=str(TOO_MANY))
    if not captcha.check(form.captcha_id.data, form.captcha.data):
        audit.record(audit.EventTag.CAPTCHA_FAILED, None, purpose=purpose)
        form.captcha.errors = [str(WRONG_CAPTCHA)]
        return render_with_captcha(template, form, 400)
    act()
    db.session.commit()
    return render_template(sent_template, **(context or {}))
