"""one counter, one job table, access-key slots

- ``throttle_counters`` goes: lockouts now live on the one fixed-window counter
  (``rate_counters``); a lock in force is simply not carried over.
- ``jobs`` replaces ``outbox_messages`` and ``backchannel_logouts``; rows not yet sent or
  delivered are carried over as due jobs (sent ones too, as done, for ``idp outbox list``).
- ``access_keys.slot``: permanent keys numbered 1.. per console user, unique, so that the
  access-key limit is a constraint of the database.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC_DT = idp.db_types.UTCDateTime(timezone=True)


def _jobs_table() -> sa.Table:
    return op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("next_attempt_at", UTC_DT, nullable=False),
        sa.Column("claimed_until", UTC_DT, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", UTC_DT, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def upgrade() -> None:
    jobs = _jobs_table()
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["queue", "done_at", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_done_at"), ["done_at"], unique=False)

    bind = op.get_bind()
    outbox = sa.table("outbox_messages", *(sa.column(c) for c in (
        "template", "recipient", "locale", "subject", "body_text", "body_html", "attempts", "last_error")),
        sa.column("created_at", UTC_DT), sa.column("next_attempt_at", UTC_DT), sa.column("sent_at", UTC_DT),
        sa.column("id"))
    rows = []
    for m in bind.execute(sa.select(outbox).order_by(outbox.c.id)).mappings():
        rows.append({"queue": "mail", "payload": {
            "template": m["template"], "recipient": m["recipient"], "locale": m["locale"], "subject": m["subject"],
            "text": m["body_text"], "html": m["body_html"]}, "created_at": m["created_at"],
            "next_attempt_at": m["next_attempt_at"], "attempts": m["attempts"], "done_at": m["sent_at"],
            "last_error": m["last_error"]})
    logouts = sa.table("backchannel_logouts", sa.column("id"), sa.column("client_id"), sa.column("sub"),
                       sa.column("sid"), sa.column("attempts"), sa.column("last_error"),
                       sa.column("created_at", UTC_DT), sa.column("next_attempt_at", UTC_DT),
                       sa.column("delivered_at", UTC_DT))
    for b in bind.execute(sa.select(logouts).order_by(logouts.c.id)).mappings():
        rows.append({"queue": "backchannel-logout", "payload": {"client_id": b["client_id"], "sub": b["sub"],
                                                                "sid": b["sid"]},
                     "created_at": b["created_at"], "next_attempt_at": b["next_attempt_at"],
                     "attempts": b["attempts"], "done_at": b["delivered_at"], "last_error": b["last_error"]})
    if rows:
        op.bulk_insert(jobs, rows)

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_sent_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_messages_next_attempt_at"))
    op.drop_table("outbox_messages")
    with op.batch_alter_table("backchannel_logouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backchannel_logouts_delivered_at"))
        batch_op.drop_index(batch_op.f("ix_backchannel_logouts_next_attempt_at"))
    op.drop_table("backchannel_logouts")
    op.drop_table("throttle_counters")

    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.Integer(), nullable=True))
    keys = sa.table("access_keys", sa.column("access"), sa.column("console_user_id"), sa.column("slot"),
                    sa.column("expires_at"), sa.column("created_at"))
    numbered: dict[int, int] = {}
    for key in bind.execute(sa.select(keys.c.access, keys.c.console_user_id).where(keys.c.expires_at.is_(None))
                            .order_by(keys.c.console_user_id, keys.c.created_at, keys.c.access)).mappings():
        slot = numbered[key["console_user_id"]] = numbered.get(key["console_user_id"], 0) + 1
        bind.execute(sa.update(keys).where(keys.c.access == key["access"]).values(slot=slot))
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_access_keys_console_user_slot", ["console_user_id", "slot"])


def downgrade() -> None:
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_access_keys_console_user_slot", type_="unique")
        batch_op.drop_column("slot")
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UTC_DT, nullable=False),
        sa.Column("locked_until", UTC_DT, nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "backchannel_logouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("next_attempt_at", UTC_DT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", UTC_DT, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backchannel_logouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backchannel_logouts_delivered_at"), ["delivered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_backchannel_logouts_next_attempt_at"), ["next_attempt_at"], unique=False)
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("locale", sa.String(length=2), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("next_attempt_at", UTC_DT, nullable=False),
        sa.Column("claimed_until", UTC_DT, nullable=True),
        sa.Column("sent_at", UTC_DT, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_messages_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_sent_at"), ["sent_at"], unique=False)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_done_at"))
        batch_op.drop_index("ix_jobs_due")
    op.drop_table("jobs")
