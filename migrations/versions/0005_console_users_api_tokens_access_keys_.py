"""console users, api tokens, access keys, codes, signatures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 21:49:06.539919
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signatures_seen',
    sa.Column('access', sa.String(length=20), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('access', 'signature')
    )
    with op.batch_alter_table('signatures_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_seen_expires_at'), ['expires_at'], unique=False)

    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('api_password_hash', sa.String(length=255), nullable=True),
    sa.Column('api_password_changed_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('api_password_level', sa.String(length=8), nullable=True),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('membership_id'),
    sa.UniqueConstraint('user_id')
    )
    op.create_table('access_keys',
    sa.Column('access', sa.String(length=20), nullable=False),
    sa.Column('console_user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_use_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('security_token_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['console_user_id'], ['console_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('access')
    )
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_keys_console_user_id'), ['console_user_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('console_user_id', sa.Integer(), nullable=False),
    sa.Column('methods', sa.JSON(), nullable=False),
    sa.Column('project_name', sa.String(length=64), nullable=True),
    sa.Column('issued_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['console_user_id'], ['console_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_console_user_id'), ['console_user_id'], unique=False)

    op.create_table('verification_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('console_user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('code_hmac', sa.String(length=64), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('used_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['console_user_id'], ['console_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_codes_console_user_id'), ['console_user_id'], unique=False)

    # Every membership that already has a console role is a console user (SPEC §2).
    import secrets
    from datetime import datetime
    from datetime import timezone

    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text(
        "SELECT DISTINCT membership_id FROM membership_console_roles ORDER BY membership_id"))]
    table = sa.table("console_users", sa.column("membership_id", sa.Integer()), sa.column("user_id", sa.String()),
                     sa.column("created_at", idp.db_types.UTCDateTime(timezone=True)))
    now = datetime.now(timezone.utc)
    if ids:
        op.bulk_insert(table, [{"membership_id": m, "user_id": secrets.token_hex(16), "created_at": now} for m in ids])


def downgrade() -> None:
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_codes_console_user_id'))

    op.drop_table('verification_codes')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_console_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_keys_console_user_id'))

    op.drop_table('access_keys')
    op.drop_table('console_users')
    with op.batch_alter_table('signatures_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_seen_expires_at'))

    op.drop_table('signatures_seen')
