"""recovery: mailed password-recovery links, and the browsers each account signed in from

``recovery_link`` keeps a mailed link's SHA-256 digest only, its end, its single use and whether
the second factor was proven through it (``idp.accounts.recovery``). ``known_device`` keeps the
digest of each browser's long-lived device cookie per account, to tell the citizen of a sign-in
from a new one (``idp.accounts.devices``).

Revision ID: 0010_recovery
Revises: 0009
Create Date: 2026-12-03 06:30:00

"""
from alembic import op
import sqlalchemy as sa
import idp.storage  # noqa: F401  (column types used by autogenerate)


revision = '0010_recovery'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recovery_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('factor_passed_at', sa.DateTime(), nullable=True),
    sa.Column('factor_method', sa.String(length=16), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_recovery_link_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_link')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_recovery_link_token_digest'))
    )
    with op.batch_alter_table('recovery_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_link_account_id'), ['account_id'], unique=False)

    op.create_table('known_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('device_digest', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_known_device_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_known_device')),
    sa.UniqueConstraint('account_id', 'device_digest', name='uq_known_device')
    )
    with op.batch_alter_table('known_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_known_device_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('known_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_known_device_account_id'))
    op.drop_table('known_device')
    with op.batch_alter_table('recovery_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_link_account_id'))
    op.drop_table('recovery_link')
