"""verified claims: an electronic registration's signing certificate (issuer and serial) on the account

The evidence of ``verified_claims`` (OpenID Identity Assurance) names the CA that issued the
signing certificate and its serial number. Both were recorded until now only in the audit trail
(event ``identity_verified``); accounts registered electronically get them from there, unless
their personal data was erased.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import idp.storage  # noqa: F401  (column types used by autogenerate)


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature_certificate_issuer', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('signature_certificate_serial', sa.String(length=64), nullable=True))

    conn = op.get_bind()
    account = sa.table(
        'account', sa.column('id', sa.Integer), sa.column('ended_at', sa.DateTime),
        sa.column('signature_certificate_issuer', sa.String), sa.column('signature_certificate_serial', sa.String),
    )
    audit = sa.table(
        'audit_event', sa.column('id', sa.Integer), sa.column('event', sa.String), sa.column('account_id', sa.Integer),
        sa.column('details', sa.JSON),
    )
    rows = conn.execute(
        sa.select(audit.c.account_id, audit.c.details)
        .select_from(audit.join(account, account.c.id == audit.c.account_id))
        .where(audit.c.event == 'identity_verified', account.c.ended_at.is_(None))
        .order_by(audit.c.id)
    )
    for account_id, details in rows.all():
        details = details or {}
        issuer, serial = details.get('certificate_issuer'), details.get('certificate_serial')
        if details.get('method') == 'e_signature' and issuer and serial:
            conn.execute(
                account.update().where(account.c.id == account_id)
                .values(signature_certificate_issuer=issuer, signature_certificate_serial=serial)
            )


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('signature_certificate_serial')
        batch_op.drop_column('signature_certificate_issuer')
