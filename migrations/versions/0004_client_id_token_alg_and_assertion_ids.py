"""id token alg per client, private_key_jwt assertion ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 21:31:23.775159
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oauth2_client_assertions',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('jti_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'jti_hash')
    )
    with op.batch_alter_table('oauth2_client_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth2_client_assertions_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('oauth2_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_token_signed_response_alg', sa.String(length=10), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('oauth2_clients', schema=None) as batch_op:
        batch_op.drop_column('id_token_signed_response_alg')

    with op.batch_alter_table('oauth2_client_assertions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth2_client_assertions_expires_at'))

    op.drop_table('oauth2_client_assertions')
