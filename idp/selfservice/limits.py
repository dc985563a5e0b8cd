"""Abuse limits shared by the self-service flows: per client address and per target."""

from __future__ import annotations

from flask import current_app
from flask import request

from idp import audit
from idp.security.ratelimit import address_key
from idp.security.ratelimit import limiter
from idp.security.ratelimit import target_key


def within_limits(purpose: str, target: str) -> bool:
    """Count this request against its address and its target; False once either is over.

    Call before the request writes anything (the database limiter commits on its own)."""
    s = current_app.config["IDP_SETTINGS"].selfservice
    rl = limiter()
    by_address = rl.hit(address_key(purpose, request.remote_addr), s.requests_per_address, s.request_window_seconds)
    by_target = rl.hit(target_key(purpose, target), s.requests_per_target, s.request_window_seconds)
    if by_address and by_target:
        return True
    audit.record(audit.EventTag.RATE_LIMITED, None, purpose=purpose, subject=audit.subject_hash(target))
    return False
