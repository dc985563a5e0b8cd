"""Keystone tokens: opaque, stored as their SHA-256, hanging from their console user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp.db_types import UTCDateTime
from idp.directory.console_users import ConsoleUser
from idp.extensions import Model


class ApiToken(Model):
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
