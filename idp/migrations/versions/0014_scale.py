"""scale: the indexes the scheduled jobs need over a million accounts (bench/README.md, "Scale")

* ``ix_account_state_state_changed_at``: registrations awaiting activation past the window, read
  along the time they started waiting (``idp.lifecycle.jobs``, lapse).
* ``ix_account_state_registered_at``: online pre-registrations not verified in time (lapse).
* ``ix_authorization_code_account_id``: an ending account's unexchanged codes are closed by
  account (``idp.lifecycle.access.end_access_many``); without it every batch of endings read the
  whole code table. ``account_id`` never changes, so the claim of a code stays a HOT update.

Revision ID: 0014_scale
Revises: 0013_offline
Create Date: 2026-12-03 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa  # noqa: F401
import idp.storage  # noqa: F401  (column types used by autogenerate)


# revision identifiers, used by Alembic.
revision = '0014_scale'
down_revision = '0013_offline'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index('ix_account_state_state_changed_at', ['state', 'state_changed_at'], unique=False)
        batch_op.create_index('ix_account_state_registered_at', ['state', 'registered_at'], unique=False)
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorization_code_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorization_code_account_id'))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('ix_account_state_registered_at')
        batch_op.drop_index('ix_account_state_state_changed_at')
