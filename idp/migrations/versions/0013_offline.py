"""offline access (OpenID Connect Core §11): clients that could get refresh tokens are allowed the
offline_access scope, so they keep getting refresh tokens once they ask for offline_access with
prompt=consent and the citizen ticks it

Refresh tokens issued before this revision were never consented to by the citizen: the refresh
grant refuses them from now on (invalid_grant), and the agency asks again (README, "Upgrades").
Data only; no schema change.

Revision ID: 0013_offline
Revises: 0012_speed
Create Date: 2026-12-03 07:00:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_offline'
down_revision = '0012_speed'
branch_labels = None
depends_on = None

OFFLINE = "offline_access"

client = sa.table(
    "client",
    sa.column("id", sa.Integer),
    sa.column("grant_types", sa.JSON),
    sa.column("allowed_scopes", sa.Text),
)


def _grants(value):
    if isinstance(value, str):  # a JSON column read back as text by some drivers
        value = json.loads(value or "[]")
    return list(value or [])


def upgrade():
    bind = op.get_bind()
    for row in bind.execute(sa.select(client.c.id, client.c.grant_types, client.c.allowed_scopes)).all():
        scopes = (row.allowed_scopes or "").split()
        if "refresh_token" in _grants(row.grant_types) and OFFLINE not in scopes:
            bind.execute(
                client.update().where(client.c.id == row.id).values(allowed_scopes=" ".join([*scopes, OFFLINE]))
            )


def downgrade():
    bind = op.get_bind()
    for row in bind.execute(sa.select(client.c.id, client.c.allowed_scopes)).all():
        scopes = (row.allowed_scopes or "").split()
        if OFFLINE in scopes:
            bind.execute(
                client.update().where(client.c.id == row.id)
                .values(allowed_scopes=" ".join(s for s in scopes if s != OFFLINE))
            )
