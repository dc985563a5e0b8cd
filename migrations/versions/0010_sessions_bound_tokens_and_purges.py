"""sessions bound tokens and purges

- ``oauth2_tokens.family_started_at``: when the family's first token was issued, carried
  across rotations (a family's end no longer slides). Existing rows get their family's
  earliest ``issued_at``; their refresh tokens keep their old end but are now refused once
  their SSO session has ended, which bounds them (sessions last hours).
- ``oauth2_tokens.offline``: the family came from a consented ``offline_access`` and
  outlives its session. Existing rows: false.
- ``jobs.key``: the one row of a recurring queue (``maintenance``), unique so that starting
  several processes makes one row.
- Indexes for the maintenance run: expired sessions (``sso_sessions.last_seen_at``,
  ``expires_at``), expired codes, dead token families (``refresh_expires_at``,
  ``revoked_at``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_DT = idp.db_types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("oauth2_tokens") as batch:
        batch.add_column(sa.Column("family_started_at", UTC_DT, nullable=True))
        batch.add_column(sa.Column("offline", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE oauth2_tokens SET family_started_at = "
        "(SELECT MIN(f.issued_at) FROM oauth2_tokens AS f WHERE f.family = oauth2_tokens.family)"
    )
    with op.batch_alter_table("oauth2_tokens") as batch:
        batch.alter_column("family_started_at", existing_type=UTC_DT, nullable=False)
        batch.create_index("ix_oauth2_tokens_refresh_expires_at", ["refresh_expires_at"], unique=False)
        batch.create_index("ix_oauth2_tokens_revoked_at", ["revoked_at"], unique=False)
    with op.batch_alter_table("oauth2_codes") as batch:
        batch.create_index("ix_oauth2_codes_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("sso_sessions") as batch:
        batch.create_index("ix_sso_sessions_last_seen_at", ["last_seen_at"], unique=False)
        batch.create_index("ix_sso_sessions_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("key", sa.String(length=32), nullable=True))
        batch.create_unique_constraint("uq_jobs_key", ["key"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_key", type_="unique")
        batch.drop_column("key")
    with op.batch_alter_table("sso_sessions") as batch:
        batch.drop_index("ix_sso_sessions_expires_at")
        batch.drop_index("ix_sso_sessions_last_seen_at")
    with op.batch_alter_table("oauth2_codes") as batch:
        batch.drop_index("ix_oauth2_codes_expires_at")
    with op.batch_alter_table("oauth2_tokens") as batch:
        batch.drop_index("ix_oauth2_tokens_revoked_at")
        batch.drop_index("ix_oauth2_tokens_refresh_expires_at")
        batch.drop_column("offline")
        batch.drop_column("family_started_at")
