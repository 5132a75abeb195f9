"""Indexes of accounts by territory and by owner with the archived flag (issue 18)

Counting a rep's visible accounts (their territories or their own, live only) then reads
only the indexes: the API's account list answers its total without a row lookup each.

Revision ID: 0025
Revises: 0024
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_accounts_territory_archived', 'accounts', ['territory_id', 'archived'])
    op.create_index('ix_accounts_owner_archived', 'accounts', ['owner_id', 'archived'])


def downgrade():
    op.drop_index('ix_accounts_owner_archived', table_name='accounts')
    op.drop_index('ix_accounts_territory_archived', table_name='accounts')
