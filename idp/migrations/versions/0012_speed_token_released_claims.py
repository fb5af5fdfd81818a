"""token.released_claims: the access history's id_token entry kept on the token row (issue 11)

The code exchange writes the claim names its ID token released in the INSERT
that issues the token, instead of a second write (an upsert of claim_release)
on every exchange. ``idp.authorizations.releases.history`` reads them back.

Revision ID: 0012_speed
Revises: 0011_passkeys
Create Date: 2026-12-03 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_speed'
down_revision = '0011_passkeys'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_claims', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('token', schema=None) as batch_op:
        batch_op.drop_column('released_claims')
