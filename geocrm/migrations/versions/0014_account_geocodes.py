"""account geocodes (issue 14): the geocoder's named confidence and job state per account

One row per account the geocoder placed or must place: status (pending, placed, not_found,
no_address, failed), the named confidence of the pin it set (exact ... locality), the address the
engine matched and the normalised address it was asked (a later change by any path shows), the
engine and its last error. Accounts keep their pin and location_source
("geocoder" is a new value of that column, no schema change).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_geocodes",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.String(length=16), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.Column("query_key", sa.String(length=800), nullable=True),
        sa.Column("engine", sa.String(length=20), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index("ix_account_geocodes_status", "account_geocodes", ["status"])


def downgrade():
    op.drop_index("ix_account_geocodes_status", table_name="account_geocodes")
    op.drop_table("account_geocodes")
