"""Console users and their API credentials.

A membership with at least one console role *is* a console user (SPEC §2). Its row here
holds the IAM user id and the API password hash; its Keystone tokens, access keys and
verification codes hang from it with ON DELETE CASCADE, so removing the console user
(last console role gone, member removed, account deleted) removes all of them at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp import clock
from idp.db_types import UTCDateTime
from idp.directory.models import Membership
from idp.extensions import db


class ConsoleUser(db.Model):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"), unique=True)
    # The IAM user id (32 hex), as Keystone bodies and the credentials API show it.
    user_id: Mapped[str] = mapped_column(String(32), unique=True)
    api_password_hash: Mapped[str | None] = mapped_column(String(255))
    api_password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # medium | strong: the policy level it reached, which My Credential shows.
    api_password_level: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    membership: Mapped[Membership] = relationship(lazy="joined")


class ApiToken(db.Model):
    """A Keystone token: opaque, stored as its SHA-256."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    console_user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    # ["password"], or a marker such as ["token"] for tokens that may not mint credentials.
    methods: Mapped[list[str]] = mapped_column(JSON)
    project_name: Mapped[str | None] = mapped_column(String(64))  # None: domain scope
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    console_user: Mapped[ConsoleUser] = relationship(lazy="joined")


class AccessKey(db.Model):
    """An access key: AK in clear (it is an identifier), SK encrypted (HMAC needs it)."""

    __tablename__ = "access_keys"

    access: Mapped[str] = mapped_column(String(20), primary_key=True)
    console_user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_use_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Temporary keys (securitytokens): their expiry and the hash of their security token.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    security_token_hash: Mapped[str | None] = mapped_column(String(64))

    console_user: Mapped[ConsoleUser] = relationship(lazy="joined")

    @property
    def temporary(self) -> bool:
        return self.expires_at is not None


class VerificationCode(db.Model):
    """A 60-second emailed code, stored as an HMAC; one live code per user and purpose."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    console_user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignatureSeen(db.Model):
    """(AK, signature) pairs accepted inside the clock window: an exact replay is refused."""

    __tablename__ = "signatures_seen"

    access: Mapped[str] = mapped_column(String(20), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
