"""api-password reset flows; verification codes scoped to a flow

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC_DT = idp.db_types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_password_flows",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("console_user_id", sa.Integer(), nullable=True),
        sa.Column("company_account", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("verified_at", UTC_DT, nullable=True),
        sa.Column("used_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(["console_user_id"], ["console_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("api_password_flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_password_flows_console_user_id"), ["console_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_password_flows_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=64), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.drop_column("scope")
    with op.batch_alter_table("api_password_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_password_flows_expires_at"))
        batch_op.drop_index(batch_op.f("ix_api_password_flows_console_user_id"))

    op.drop_table("api_password_flows")
