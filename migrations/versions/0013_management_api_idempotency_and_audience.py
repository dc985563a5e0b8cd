"""management API: idempotency keys and its audience

- ``management_idempotency_keys``: the ``Idempotency-Key`` of each creation through the
  management API, per caller, for 24 hours (``idp.management.idempotency``): the request it
  was first used for (a hash) and the answer given, replayed to a retry.
- ``oauth2_clients.management_api``: the client (the portal) whose tokens the management
  API accepts, and the only one granted the ``management`` scope.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC_DT = idp.db_types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "management_idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "key_hash"),
    )
    op.create_index(
        "ix_management_idempotency_keys_expires_at", "management_idempotency_keys", ["expires_at"]
    )
    with op.batch_alter_table("oauth2_clients") as batch:
        batch.add_column(sa.Column("management_api", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("oauth2_clients") as batch:
        batch.drop_column("management_api")
    op.drop_index("ix_management_idempotency_keys_expires_at", table_name="management_idempotency_keys")
    op.drop_table("management_idempotency_keys")
