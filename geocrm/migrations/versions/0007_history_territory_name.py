"""assignment history keeps the territory's name (survives the territory's deletion)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignment_history') as batch:
        batch.add_column(sa.Column('territory_name', sa.String(length=120), nullable=True))
    op.execute(
        "UPDATE assignment_history SET territory_name = (SELECT name FROM territories"
        " WHERE territories.id = assignment_history.territory_id)"
        " WHERE territory_id IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('assignment_history') as batch:
        batch.drop_column('territory_name')
