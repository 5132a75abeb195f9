"""route locks: route_plans.route_locked (a rep's whole route as the planner set it) and
route_stops.position_locked (a stop kept at its place in the route) (issue 15)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('route_plans') as batch_op:
        batch_op.add_column(sa.Column('route_locked', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('route_stops') as batch_op:
        batch_op.add_column(sa.Column('position_locked', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('route_stops') as batch_op:
        batch_op.drop_column('position_locked')
    with op.batch_alter_table('route_plans') as batch_op:
        batch_op.drop_column('route_locked')
