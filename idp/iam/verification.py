"""Checking an SDK-HMAC-SHA256 request against a stored access key (reference §3, §4.2).

    parse Authorization (X-Sdk-Date and Host signed) ─► signed Host = the service's
    (``/v3/ec2tokens``: the one the service names; the IdP's own APIs: the issuer's) ─►
    X-Sdk-Date within ±window ─► key known, active, not expired,
    its user active (temporary key: its signed X-Security-Token) ─► HMAC with the
    decrypted SK, constant time ─► (AK, signature) never seen inside the window ─► caller

Every refusal is a :class:`SignatureError` with a message safe to return; an exact replay
of an accepted request is refused, so a captured request cannot be played again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Request
from flask import current_app
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from idp import clock
from idp.extensions import db
from idp.iam import signing
from idp.iam.models import AccessKey
from idp.iam.models import SignatureSeen
from idp.iam.signing import SignatureError
from idp.iam.signing import SignedRequest
from idp.keystone.errors import ApiError
from idp.security import audit
from idp.security import tokens

UNKNOWN_KEY = "the access key is unknown, inactive or expired"
# last_use_time is written at most this often per key: one write, not one per request.
LAST_USE_RESOLUTION = timedelta(seconds=60)


def verify(request: SignedRequest, expected_host: str | None = None) -> AccessKey:
    """The active access key that signed ``request``; with ``expected_host`` (a service
    checking a request it received), the signed ``Host`` must name it."""
    settings = current_app.config["IDP_SETTINGS"]
    auth = signing.parse_authorization(request.header("Authorization"))
    if expected_host is not None and not signing.same_host(request.header("Host"), expected_host):
        raise SignatureError("the request was signed for another host")
    now = clock.now()
    window = timedelta(seconds=settings.api.signature_window_seconds)
    sent = signing.request_time(request)
    if abs(now - sent) > window:
        raise SignatureError("X-Sdk-Date is more than 15 minutes away from the server's time")
    key = db.session.get(AccessKey, auth.access)
    if (
        key is None
        or key.status != "active"
        or (key.expires_at is not None and key.expires_at <= now)
        or not key.console_user.account.is_active
    ):
        raise SignatureError(UNKNOWN_KEY)
    if key.temporary:
        security_token = request.header("X-Security-Token") or ""
        if "x-security-token" not in auth.signed_headers or not tokens.matches(key.security_token_hash, security_token):
            raise SignatureError("a temporary access key needs its signed X-Security-Token")
    secret = current_app.extensions["idp.secret_box"].decrypt(key.secret_encrypted)
    if not signing.matches(secret, request, auth):
        audit.record(audit.EventTag.SIGNATURE_REFUSED, key.console_user.account.id, access=key.access)
        db.session.commit()
        raise SignatureError("the signature does not match the request")
    _not_replayed(auth.access, auth.signature, sent + window, now)
    if key.last_use_at is None or now - key.last_use_at >= LAST_USE_RESOLUTION:
        key.last_use_at = now
    db.session.commit()
    return key


def _not_replayed(access: str, signature: str, keep_until: datetime, now: datetime) -> None:
    db.session.execute(delete(SignatureSeen).where(SignatureSeen.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(SignatureSeen(access=access, signature=signature, expires_at=keep_until))
    except IntegrityError:
        db.session.rollback()
        raise SignatureError("this exact request was already received (replay)") from None


def verify_flask_request(request: Request) -> AccessKey:
    """Verify a request made to the IdP itself (the SDK's own IAM calls): it must have been
    signed for the IdP's own host, the issuer's (SDK users reach the IdP there), so that a
    request signed for a service cannot be replayed here. The Host this request came with is
    no second choice: it is the signed header itself, whatever its sender wrote."""
    raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    path, _, query = raw_path.partition("?")
    body = request.get_data(cache=True)
    signed = SignedRequest(request.method, path, query, dict(request.headers), hashlib.sha256(body).hexdigest())
    try:
        return verify(signed, expected_host=urlsplit(current_app.config["IDP_SETTINGS"].server.issuer).netloc)
    except SignatureError as exc:
        raise ApiError(401, f"Incorrect IAM authentication information: {exc}", "APIGW.0301") from None
