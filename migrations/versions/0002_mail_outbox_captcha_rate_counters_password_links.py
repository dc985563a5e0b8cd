"""mail outbox, captcha, rate counters, password links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('captcha_challenges',
    sa.Column('id', sa.String(length=43), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('captcha_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_captcha_challenges_expires_at'), ['expires_at'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=2), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_sent_at'), ['sent_at'], unique=False)

    op.create_table('rate_counters',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('window_started_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('password_links',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_links_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_links_account_id'))

    op.drop_table('password_links')
    op.drop_table('rate_counters')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_sent_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_next_attempt_at'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('captcha_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_captcha_challenges_expires_at'))

    op.drop_table('captcha_challenges')
