# ruff: noqa: S608
"""disabled accounts and roles per offer

- ``accounts.disabled_at``: when an account left with no contract was disabled (it is
  deleted ``jobs.disabled_account_retention_seconds`` later). Existing disabled accounts, if
  any, count from now.
- Roles follow the offer (SPEC §2): on Flexible Computing Advanced contracts the sections
  that offer lacks (contract, orders, subscriptions) are set to their neutral level, and
  console roles, console groups and console users (with their API password, Keystone
  tokens, access keys, codes and API-password resets) are removed — that offer has no
  console here. Not restored by the downgrade.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import idp.db_types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC_DT = idp.db_types.UTCDateTime(timezone=True)
# Constant SQL built from these constants only (no input anywhere): S608 does not apply.
FCA = "(SELECT id FROM contracts WHERE offer = 'flexible-computing-advanced')"
FCA_MEMBERSHIPS = f"(SELECT id FROM memberships WHERE contract_id IN {FCA})"
FCA_CONSOLE_USERS = f"(SELECT id FROM console_users WHERE membership_id IN {FCA_MEMBERSHIPS})"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("disabled_at", UTC_DT, nullable=True))
    op.get_bind().execute(
        sa.text("UPDATE accounts SET disabled_at = :now WHERE status = 'disabled'").bindparams(
            sa.bindparam("now", value=datetime.now(UTC), type_=UTC_DT)
        )
    )
    op.execute(
        "UPDATE memberships SET role_contract = 'visitor', role_orders = 'none', role_subscriptions = 'none' "
        f"WHERE contract_id IN {FCA}"
    )
    # Children first: a database without foreign-key enforcement must not keep orphans.
    for table in ("api_tokens", "access_keys", "verification_codes", "api_password_flows"):
        op.execute(f"DELETE FROM {table} WHERE console_user_id IN {FCA_CONSOLE_USERS}")
    op.execute(f"DELETE FROM console_users WHERE membership_id IN {FCA_MEMBERSHIPS}")
    op.execute(f"DELETE FROM membership_console_roles WHERE membership_id IN {FCA_MEMBERSHIPS}")
    op.execute(f"DELETE FROM console_groups WHERE contract_id IN {FCA}")


def downgrade() -> None:
    # Not a batch (a copy of ``accounts``): on SQLite dropping the old table would trip every
    # foreign key pointing at it. Both databases drop a plain column in place (SQLite >= 3.35).
    op.execute("ALTER TABLE accounts DROP COLUMN disabled_at")
