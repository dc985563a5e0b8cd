"""Access keys and the signatures already accepted.

An access key hangs from its console user (ON DELETE CASCADE). Permanent keys take one
of the user's ``slot`` numbers (1..``api.max_access_keys``), unique per user: the limit is
a constraint of the database, so parallel creations cannot exceed it on SQLite or
PostgreSQL. Temporary keys (``securitytokens``) take no slot.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp.db_types import UTCDateTime
from idp.directory.console_users import ConsoleUser
from idp.extensions import Model


class AccessKey(Model):
    """An access key: AK in clear (it is an identifier), SK encrypted (HMAC needs it)."""

    __tablename__ = "access_keys"

    access: Mapped[str] = mapped_column(String(20), primary_key=True)
    console_user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    # 1..max_access_keys for permanent keys, NULL for temporary ones; unique per user.
    slot: Mapped[int | None] = mapped_column(Integer)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_use_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Temporary keys (securitytokens): their expiry and the hash of their security token.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    security_token_hash: Mapped[str | None] = mapped_column(String(64))

    console_user: Mapped[ConsoleUser] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("console_user_id", "slot", name="uq_access_keys_console_user_slot"),)

    @property
    def temporary(self) -> bool:
        return self.expires_at is not None


class SignatureSeen(Model):
    """(AK, signature) pairs accepted inside the clock window: an exact replay is refused."""

    __tablename__ = "signatures_seen"

    access: Mapped[str] = mapped_column(String(20), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
