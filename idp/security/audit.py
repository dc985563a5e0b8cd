"""The audit trail: one row per security-relevant event, written in the caller's transaction.

Rows never hold a password, code, token or a login that matched no account (people type
their password into the login field); an unknown login is kept as a keyed hash only, so
that repeated attempts can still be correlated.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask import has_request_context
from flask import request
from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp.db_types import UTCDateTime
from idp.extensions import Model
from idp.extensions import db
from idp.security.keyed_hash import Purpose
from idp.security.keyed_hash import mac

log = logging.getLogger("idp.audit")


class EventTag(StrEnum):
    LOGIN_SUCCESS = "account:login:success"
    LOGIN_FAILURE = "account:login:failure"
    LOGIN_LOCKED = "account:login:locked"
    LOGOUT = "account:logout"
    SESSION_EXPIRED = "account:session:expired"
    PASSWORD_SET = "account:password:set"
    PASSWORD_RESET_REQUESTED = "account:password:reset_requested"
    PASSWORD_RESET_COMPLETED = "account:password:reset"
    PASSWORD_LINK_REFUSED = "account:password:link_refused"
    PASSWORD_CHANGED = "account:password:changed"
    PASSWORD_CHANGE_FAILED = "account:password:change_failed"
    LOGIN_REMINDER_REQUESTED = "account:login:reminder_requested"
    PROFILE_UPDATED = "account:profile:updated"
    EMAIL_CHANGED = "account:email:changed"
    EMAIL_CHANGE_REQUESTED = "account:email:change_requested"
    EMAIL_CHANGE_CANCELLED = "account:email:change_cancelled"
    EMAIL_CHANGE_REFUSED = "account:email:change_refused"
    EMAIL_VERIFIED = "account:email:verified"
    CAPTCHA_FAILED = "selfservice:captcha:failed"
    RATE_LIMITED = "selfservice:rate_limited"
    ACCESS_EMAIL_SENT = "directory:access_email:sent"
    PASSWORD_REHASHED = "account:password:rehashed"
    ACCOUNT_CREATED = "directory:account:created"
    CONTRACT_CREATED = "directory:contract:created"
    MEMBER_ADDED = "directory:member:added"
    MEMBER_REMOVED = "directory:member:removed"
    ACCOUNT_REMOVED = "directory:account:removed"
    CONSOLE_ROLES_CHANGED = "directory:console_roles:changed"
    CONSOLE_USER_REMOVED = "directory:console_user:removed"
    CONSOLE_ACCESS_EMAIL_SENT = "directory:console_access_email:sent"
    ROLES_CHANGED = "directory:roles:changed"
    ACCOUNT_DISABLED = "directory:account:disabled"
    ACCOUNT_ENABLED = "directory:account:enabled"
    INVITATION_SENT = "directory:invitation:sent"
    INVITATION_ACCEPTED = "directory:invitation:accepted"
    INVITATION_DECLINED = "directory:invitation:declined"
    INVITATION_REVOKED = "directory:invitation:revoked"
    API_PASSWORD_SET = "api:password:set"
    API_PASSWORD_RESET_REQUESTED = "api:password:reset_requested"
    API_CODE_REFUSED = "api:code:refused"
    API_LOGIN_SUCCESS = "api:login:success"
    API_LOGIN_FAILURE = "api:login:failure"
    API_LOGIN_LOCKED = "api:login:locked"
    ACCESS_KEY_CREATED = "api:access_key:created"
    ACCESS_KEY_UPDATED = "api:access_key:updated"
    ACCESS_KEY_DELETED = "api:access_key:deleted"
    SIGNATURE_REFUSED = "api:signature:refused"


class AuditEvent(Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, index=True)
    tag: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def subject_hash(value: str) -> str:
    """A keyed, truncated hash to correlate attempts on a login without storing it."""
    return mac(Purpose.AUDIT_SUBJECT, value.casefold(), length=16)


def record(tag: EventTag, account_id: int | None = None, actor: str | None = None, **details: Any) -> None:
    """Add an audit row to the current transaction and mirror it to the structured log."""
    ip = ua = None
    if has_request_context():
        ip = request.remote_addr
        ua = (request.user_agent.string or "")[:256] or None
        actor = actor or "web"
    # A plain table INSERT: audit rows are append-only, so the ORM's bookkeeping buys nothing.
    db.session.execute(
        AuditEvent.__table__.insert(),
        {
            "created_at": clock.now(),
            "tag": tag.value,
            "account_id": account_id,
            "actor": actor or "cli",
            "ip": ip,
            "user_agent": ua,
            "details": details,
        },
    )
    log.info("audit", extra={"event": tag.value, "account_id": account_id, "ip": ip, **details})
