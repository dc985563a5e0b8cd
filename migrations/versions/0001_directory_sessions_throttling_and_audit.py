"""directory, sessions, throttling and audit

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.db_types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('login_canonical', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_canonical', sa.String(length=254), nullable=False),
    sa.Column('civility', sa.String(length=16), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('landline', sa.String(length=32), nullable=True),
    sa.Column('mobile', sa.String(length=32), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('password_changed_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("civility IS NULL OR civility IN ('madame', 'monsieur')", name='ck_accounts_civility'),
    sa.CheckConstraint("language IN ('fr', 'en')", name='ck_accounts_language'),
    sa.CheckConstraint("status IN ('active', 'disabled')", name='ck_accounts_status'),
    sa.CheckConstraint('landline IS NOT NULL OR mobile IS NOT NULL', name='ck_accounts_phone'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email_canonical'),
    sa.UniqueConstraint('login_canonical'),
    sa.UniqueConstraint('public_id')
    )
    op.create_table('throttle_counters',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=256), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_tag'), ['tag'], unique=False)

    op.create_table('contracts',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('offer', sa.String(length=40), nullable=False),
    sa.Column('platform_id', sa.String(length=64), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('referent_account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("offer IN ('flexible-engine', 'flexible-computing-advanced')", name='ck_contracts_offer'),
    sa.ForeignKeyConstraint(['referent_account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sso_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('auth_time', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', idp.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=256), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('sso_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_sessions_account_id'), ['account_id'], unique=False)

    op.create_table('console_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_id', 'name')
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', idp.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('role_contract', sa.String(length=16), nullable=False),
    sa.Column('role_dashboard', sa.String(length=16), nullable=False),
    sa.Column('role_orders', sa.String(length=16), nullable=False),
    sa.Column('role_subscriptions', sa.String(length=16), nullable=False),
    sa.Column('role_services', sa.String(length=16), nullable=False),
    sa.Column('role_invoices', sa.String(length=16), nullable=False),
    sa.Column('role_support', sa.String(length=16), nullable=False),
    sa.Column('role_users', sa.String(length=16), nullable=False),
    sa.CheckConstraint("role_contract IN ('visitor', 'manager')", name='ck_memberships_contract'),
    sa.CheckConstraint("role_dashboard IN ('none', 'visitor')", name='ck_memberships_dashboard'),
    sa.CheckConstraint("role_invoices IN ('none', 'visitor', 'manager')", name='ck_memberships_invoices'),
    sa.CheckConstraint("role_orders IN ('none', 'visitor')", name='ck_memberships_orders'),
    sa.CheckConstraint("role_services IN ('none', 'visitor', 'manager')", name='ck_memberships_services'),
    sa.CheckConstraint("role_subscriptions IN ('none', 'visitor', 'manager')", name='ck_memberships_subscriptions'),
    sa.CheckConstraint("role_support IN ('none', 'visitor', 'manager')", name='ck_memberships_support'),
    sa.CheckConstraint("role_users IN ('none', 'visitor', 'manager')", name='ck_memberships_users'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'contract_id')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('ix_memberships_contract', ['contract_id'], unique=False)

    op.create_table('membership_console_roles',
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('membership_id', 'role')
    )


def downgrade() -> None:
    op.drop_table('membership_console_roles')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_contract')

    op.drop_table('memberships')
    op.drop_table('console_groups')
    with op.batch_alter_table('sso_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_sessions_account_id'))

    op.drop_table('sso_sessions')
    op.drop_table('contracts')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_tag'))
        batch_op.drop_index(batch_op.f('ix_audit_events_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_account_id'))

    op.drop_table('audit_events')
    op.drop_table('throttle_counters')
    op.drop_table('accounts')
