"""Territory revisions keep their summary as a code with parameters (issue 12)

The history shows a change's summary in its reader's language; the English text column stays
for older rows (shown as written) and for logs.

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    # Empty for existing rows: their English summary is shown as it is.
    with op.batch_alter_table('territory_revisions') as batch_op:
        batch_op.add_column(sa.Column('summary_note', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('territory_revisions') as batch_op:
        batch_op.drop_column('summary_note')
