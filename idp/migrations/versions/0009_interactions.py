"""interactions: an agency's authorization request kept server-side while the citizen answers it;
clients that must push their requests (RFC 9126)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import idp.storage  # noqa: F401  (column types used by autogenerate)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'interaction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=64), nullable=False),
        sa.Column('client_pk', sa.Integer(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('browser_digest', sa.String(length=64), nullable=True),
        sa.Column('request_uri_digest', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('start_sid', sa.String(length=64), nullable=False),
        sa.Column('owed', sa.String(length=32), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('consented_at', sa.DateTime(), nullable=True),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['client_pk'], ['client.id'], name=op.f('fk_interaction_client_pk_client'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction')),
        sa.UniqueConstraint('uid', name=op.f('uq_interaction_uid')),
        sa.UniqueConstraint('request_uri_digest', name=op.f('uq_interaction_request_uri_digest')),
    )
    op.create_index('ix_interaction_expires_at', 'interaction', ['expires_at'], unique=False)
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'require_pushed_authorization_requests', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('require_pushed_authorization_requests')
    op.drop_index('ix_interaction_expires_at', table_name='interaction')
    op.drop_table('interaction')
