"""daily_reports (a rep's 日報: comment, submission, read receipt) and daily_report_comments

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'daily_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rep_id', sa.Integer(), nullable=False),
        sa.Column('report_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.Column('read_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rep_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['read_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rep_id', 'report_date', name='uq_daily_reports_rep_day'),
    )
    with op.batch_alter_table('daily_reports') as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_reports_report_date'), ['report_date'],
                              unique=False)
    op.create_table(
        'daily_report_comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['daily_reports.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('daily_report_comments') as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_report_comments_report_id'), ['report_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('daily_report_comments') as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_report_comments_report_id'))
    op.drop_table('daily_report_comments')
    with op.batch_alter_table('daily_reports') as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_reports_report_date'))
    op.drop_table('daily_reports')
