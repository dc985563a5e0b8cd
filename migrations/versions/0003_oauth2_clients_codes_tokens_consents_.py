"""oauth2 clients, codes, tokens, consents, back-channel logouts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('backchannel_logouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('sub', sa.String(length=64), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('delivered_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('backchannel_logouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backchannel_logouts_delivered_at'), ['delivered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_backchannel_logouts_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('oauth2_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=True),
    sa.Column('token_endpoint_auth_method', sa.String(length=32), nullable=False),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('post_logout_redirect_uris', sa.JSON(), nullable=False),
    sa.Column('backchannel_logout_uri', sa.String(length=500), nullable=True),
    sa.Column('jwks', sa.JSON(), nullable=True),
    sa.Column('first_party', sa.Boolean(), nullable=False),
    sa.Column('console_login', sa.Boolean(), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id')
    )
    op.create_table('oauth2_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sso_session', sa.String(length=64), nullable=True),
    sa.Column('redirect_uri', sa.String(length=500), nullable=False),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('nonce', sa.String(length=255), nullable=True),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('code_challenge_method', sa.String(length=10), nullable=True),
    sa.Column('auth_time', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('company_account', sa.String(length=16), nullable=True),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash')
    )
    with op.batch_alter_table('oauth2_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth2_codes_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth2_codes_nonce'), ['nonce'], unique=False)

    op.create_table('oauth2_consents',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('granted_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'client_id')
    )
    op.create_table('oauth2_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('access_token_hash', sa.String(length=64), nullable=False),
    sa.Column('refresh_token_hash', sa.String(length=64), nullable=True),
    sa.Column('family', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sso_session', sa.String(length=64), nullable=True),
    sa.Column('company_account', sa.String(length=16), nullable=True),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('issued_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('refresh_expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rotated_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('access_token_hash'),
    sa.UniqueConstraint('refresh_token_hash')
    )
    with op.batch_alter_table('oauth2_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth2_tokens_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth2_tokens_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth2_tokens_code_hash'), ['code_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth2_tokens_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth2_tokens_sso_session'), ['sso_session'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('oauth2_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth2_tokens_sso_session'))
        batch_op.drop_index(batch_op.f('ix_oauth2_tokens_family'))
        batch_op.drop_index(batch_op.f('ix_oauth2_tokens_code_hash'))
        batch_op.drop_index(batch_op.f('ix_oauth2_tokens_client_id'))
        batch_op.drop_index(batch_op.f('ix_oauth2_tokens_account_id'))

    op.drop_table('oauth2_tokens')
    op.drop_table('oauth2_consents')
    with op.batch_alter_table('oauth2_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth2_codes_nonce'))
        batch_op.drop_index(batch_op.f('ix_oauth2_codes_client_id'))

    op.drop_table('oauth2_codes')
    op.drop_table('oauth2_clients')
    with op.batch_alter_table('backchannel_logouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backchannel_logouts_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_backchannel_logouts_delivered_at'))

    op.drop_table('backchannel_logouts')
