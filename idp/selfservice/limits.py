"""Abuse limits shared by the self-service request pages, in one order for all of them
(forgot password, forgot login, API password step 1; web pages and JSON alike):

    fields ──► per-address limit (counts every request) ──over──► 429 "too many requests"
           ──► captcha ──wrong──► 400, a new challenge
           ──► per-target limits (count only requests that passed the captcha): per target
               and client address, then per target from all addresses
                 ──over──► the ordinary confirmation, nothing sent (audited and logged)
           ──► act ──► the ordinary confirmation
    (all of it no sooner than ``answer_floor_ms``: :func:`steady`)

Why this order: a per-target counter spent before the captcha could be filled by anyone
with five wrong answers naming someone else, and that person's own request would then be
refused for an hour. Why per target *and address*: five solved captchas from one address
would otherwise spend the owner's own requests just as well; the total per target (ten
times larger by default) still bounds how much mail many addresses can send one person,
and an address over its own share does not count towards it. And why no 429 on the target
limits: only the person named would meet it, and it would tell the asker that someone else
is asking about that login or email.

Why a floor on the answer time: a request naming someone writes (a link or a code, a mail
job) and one naming nobody does not, so without it the time alone tells who exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from enum import Enum
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


def address_within_limit(purpose: str) -> bool:
    """Count this request against its client address; False (audited) once over.

    Call before the request writes anything (the counter commits on its own)."""
    s = current_app.config["IDP_SETTINGS"].selfservice
    key = ratelimit.address_key(purpose, request.remote_addr)
    if ratelimit.hit(key, s.requests_per_address, s.request_window_seconds):
        return True
    audit.record(audit.EventTag.RATE_LIMITED, None, purpose=purpose, limit="address")
    return False


def target_within_limit(purpose: str, target: str) -> bool:
    """Count this request against its canonical target (a login, an email) from this client
    address, then against the target from every address; False (audited, with the target's
    keyed hash only) once either is over. Only for requests that passed the captcha."""
    s = current_app.config["IDP_SETTINGS"].selfservice
    window = s.request_window_seconds
    from_here = ratelimit.target_key(f"{purpose}:from", f"{target}\n{ratelimit.address_group(request.remote_addr)}")
    everywhere = ratelimit.target_key(purpose, target)
    if not ratelimit.hit(from_here, s.requests_per_target, window):
        limit = "target"
    elif not ratelimit.hit(everywhere, s.requests_per_target_total, window):
        limit = "target_total"
    else:
        return True
    audit.record(audit.EventTag.RATE_LIMITED, None, purpose=purpose, limit=limit, subject=audit.subject_hash(target))
    return False


@contextmanager
def steady(floor_seconds: float | None = None) -> Iterator[None]:
    """Answer no sooner than ``floor_seconds`` (default ``selfservice.answer_floor_ms``) after
    entering, whatever happened inside (errors included): the work a request does when it
    names someone (a link, a code, a mail job) must not show in its time (module docstring).
    A context manager, and a decorator too (``@steady()``)."""
    if floor_seconds is None:
        floor_seconds = current_app.config["IDP_SETTINGS"].selfservice.answer_floor_ms / 1000
    began = time.monotonic()
    try:
        yield
    finally:
        rest = floor_seconds - (time.monotonic() - began)
        if rest > 0:
            time.sleep(rest)


class Gate(Enum):
    """Where a request stopped on its way through the limits and the captcha."""

    ADDRESS_LIMITED = "address_limited"  # answer 429
    WRONG_CAPTCHA = "wrong_captcha"  # answer 400 with a new challenge
    TARGET_LIMITED = "target_limited"  # answer the ordinary confirmation, do nothing
    PASSED = "passed"  # act, then answer the ordinary confirmation


def gate(purpose: str, target: str, captcha_id: str | None, answer: str | None) -> Gate:
    """The one order of the checks (module docstring). Refusals are audited and committed."""
    if not address_within_limit(purpose):
        db.session.commit()
        return Gate.ADDRESS_LIMITED
    if not captcha.check(captcha_id, answer):
        audit.record(audit.EventTag.CAPTCHA_FAILED, None, purpose=purpose)
        db.session.commit()
        return Gate.WRONG_CAPTCHA
    if not target_within_limit(purpose, target):
        db.session.commit()
        return Gate.TARGET_LIMITED
    return Gate.PASSED


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


Act = Callable[[], Mapping[str, Any] | None]


def captcha_request(
    form: FlaskForm,
    *,
    purpose: str,
    target: str,
    template: str,
    sent_template: str,
    act: Act,
    when_limited: Act | None = None,
) -> ResponseReturnValue:
    """The non-revealing request pages: fields, then :func:`gate`, then ``act`` (or
    ``when_limited``, by default nothing, once the target's limit is reached); the same
    confirmation page whatever they found, no sooner than the floor (:func:`steady`). What
    they return is added to its context."""
    with steady():
        return _captcha_request(form, purpose, target, template, sent_template, act, when_limited)


def _captcha_request(
    form: FlaskForm, purpose: str, target: str, template: str, sent_template: str, act: Act, when_limited: Act | None
) -> ResponseReturnValue:
    if not form.validate():
        return render_with_captcha(template, form, 400)
    passed = gate(purpose, target, form.captcha_id.data, form.captcha.data)
    if passed is Gate.ADDRESS_LIMITED:
        return render_with_captcha(template, form, 429, error=str(TOO_MANY))
    if passed is Gate.WRONG_CAPTCHA:
        form.captcha.errors = [str(WRONG_CAPTCHA)]
        return render_with_captcha(template, form, 400)
    run = act if passed is Gate.PASSED else when_limited
    context = run() if run is not None else None
    db.session.commit()
    return render_template(sent_template, **(context or {}))
