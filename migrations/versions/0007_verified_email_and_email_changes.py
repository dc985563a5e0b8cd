"""verified email and email changes

- ``accounts.email_verified_at``: when a link mailed to the current address was followed.
  Existing accounts start unverified: nothing recorded so far proves any address (an
  address could be typed without a confirmation until now), and ``email_verified`` must
  not claim what was never shown. People prove it with the next link they follow.
- ``email_changes``: the stored email-change flow (confirm and cancel link hashes).
- ``password_links.sent_to``: the address a reset link was mailed to; the link dies when
  the account's address is no longer that one (NULL for links from before: still good).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_DT = idp.db_types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("email_verified_at", UTC_DT, nullable=True))
    op.create_table(
        "email_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("new_email", sa.String(length=254), nullable=False),
        sa.Column("new_email_canonical", sa.String(length=254), nullable=False),
        sa.Column("confirm_hash", sa.String(length=64), nullable=False),
        sa.Column("cancel_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.Column("confirmed_at", UTC_DT, nullable=True),
        sa.Column("cancelled_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("confirm_hash"),
        sa.UniqueConstraint("cancel_hash"),
    )
    op.create_index("ix_email_changes_account_id", "email_changes", ["account_id"])
    with op.batch_alter_table("password_links") as batch:
        batch.add_column(sa.Column("sent_to", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("password_links") as batch:
        batch.drop_column("sent_to")
    op.drop_index("ix_email_changes_account_id", table_name="email_changes")
    op.drop_table("email_changes")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("email_verified_at")
