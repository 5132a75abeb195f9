"""planning tables: background jobs, planning runs, route plans linked to their run

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('func', sa.String(length=200), nullable=False),
        sa.Column('kwargs', sa.JSON(), nullable=False),
        sa.Column('backend', sa.String(length=16), nullable=False),
        sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='jobstatus',
                                    native_enum=False, length=16), nullable=False),
        sa.Column('progress', sa.Float(), nullable=False),
        sa.Column('message', sa.String(length=300), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_kind', ['kind'], unique=False)
        batch_op.create_index('ix_jobs_created_by_created_at', ['created_by_id', 'created_at'],
                              unique=False)

    op.create_table(
        'plan_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'published', 'archived', name='planstatus',
                                    native_enum=False, length=16), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('published_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('plan_runs', schema=None) as batch_op:
        batch_op.create_index('ix_plan_runs_created_by_id', ['created_by_id'], unique=False)

    with op.batch_alter_table('route_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_route_plans_run_id', ['run_id'], unique=False)
        batch_op.create_foreign_key('fk_route_plans_run_id_plan_runs', 'plan_runs', ['run_id'],
                                    ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('route_plans', schema=None) as batch_op:
        batch_op.drop_constraint('fk_route_plans_run_id_plan_runs', type_='foreignkey')
        batch_op.drop_index('ix_route_plans_run_id')
        batch_op.drop_column('run_id')
    with op.batch_alter_table('plan_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_runs_created_by_id')
    op.drop_table('plan_runs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_created_by_created_at')
        batch_op.drop_index('ix_jobs_kind')
    op.drop_table('jobs')
