"""Skills and vehicles: users.skills, users.vehicle, users.speed_kmh; accounts.required_skills
(issue 17)

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    # Every column is empty for existing rows: no skills, a car, the car's speed.
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('skills', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('vehicle', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('speed_kmh', sa.Float(), nullable=True))
    with op.batch_alter_table('accounts') as batch_op:
        batch_op.add_column(sa.Column('required_skills', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('accounts') as batch_op:
        batch_op.drop_column('required_skills')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('speed_kmh')
        batch_op.drop_column('vehicle')
        batch_op.drop_column('skills')
