"""passkeys: WebAuthn credentials of citizens' Ügyfélkapu+

Revision ID: 0011_passkeys
Revises: 0009
Create Date: 2026-12-03 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
import idp.storage  # noqa: F401  (column types used by autogenerate)


# revision identifiers, used by Alembic.
revision = '0011_passkeys'
down_revision = '0010_recovery'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'passkey',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('user_handle', sa.String(length=128), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('aaguid', sa.String(length=36), nullable=False),
        sa.Column('transports', sa.JSON(), nullable=False),
        sa.Column('backup_eligible', sa.Boolean(), nullable=False),
        sa.Column('backed_up', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_passkey_account_id_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_passkey_credential_id')),
    )
    op.create_index(op.f('ix_passkey_account_id'), 'passkey', ['account_id'], unique=False)
    op.create_index(op.f('ix_passkey_user_handle'), 'passkey', ['user_handle'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_passkey_user_handle'), table_name='passkey')
    op.drop_index(op.f('ix_passkey_account_id'), table_name='passkey')
    op.drop_table('passkey')
