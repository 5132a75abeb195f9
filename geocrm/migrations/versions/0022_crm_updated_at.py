"""updated_at on contacts, interactions and tasks: the API's updated_since (issue 18)

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

TABLES = ('contacts', 'interactions', 'tasks')


def upgrade():
    # Existing rows count as changed when they were made (a done task when it was done), so
    # a first incremental sync from any earlier moment still finds them.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        op.execute(f'UPDATE {table} SET updated_at = created_at')
        if table == 'tasks':
            op.execute('UPDATE tasks SET updated_at = completed_at '
                       'WHERE completed_at IS NOT NULL AND completed_at > created_at')
        op.execute(f'UPDATE {table} SET updated_at = CURRENT_TIMESTAMP '
                   'WHERE updated_at IS NULL')
        with op.batch_alter_table(table) as batch:
            batch.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)
            batch.create_index(f'ix_{table}_updated_at', ['updated_at'])


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f'ix_{table}_updated_at')
            batch.drop_column('updated_at')
