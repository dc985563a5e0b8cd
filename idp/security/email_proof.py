"""Signed proof links: following one shows that whoever reads that mailbox is the person.

A proof is stateless (itsdangerous, under the application's secret key, its own salt): it
names the account's public id and the canonical address it was mailed to, and is good for
``MAX_AGE_SECONDS``. Nothing is stored because following it twice changes nothing; a proof
mailed to an address the account no longer has is refused, since the address is part of
what is signed. Links that *change* something (a password, an address) are stored flows
instead, single use (``selfservice.flows``, ``selfservice.email_change``).
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer

SALT = "idp.email-proof.v1"
#: The access email is often read days after the account is made; a week covers that.
MAX_AGE_SECONDS = 7 * 86_400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)  # type: ignore[arg-type]


def sign(public_id: str, email_canonical: str) -> str:
    return _serializer().dumps([public_id, email_canonical])


def verify(token: str) -> tuple[str, str] | None:
    """``(public_id, email_canonical)`` of a good, fresh proof, else None."""
    if not token or len(token) > 512:
        return None
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except BadData:
        return None
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(v, str) for v in data)):
        return None
    return data[0], data[1]
