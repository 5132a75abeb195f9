"""crm_core tables: segments, duplicate dismissals, account merges

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'segments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segments_created_by_id'), ['created_by_id'],
                              unique=False)

    op.create_table(
        'duplicate_dismissals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_a_id', sa.Integer(), nullable=False),
        sa.Column('account_b_id', sa.Integer(), nullable=False),
        sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('account_a_id < account_b_id', name='ck_duplicate_dismissals_order'),
        sa.ForeignKeyConstraint(['account_a_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['account_b_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_a_id', 'account_b_id', name='uq_duplicate_dismissals_pair'),
    )
    with op.batch_alter_table('duplicate_dismissals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duplicate_dismissals_account_b_id'),
                              ['account_b_id'], unique=False)

    op.create_table(
        'account_merges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survivor_id', sa.Integer(), nullable=True),
        sa.Column('merged_id', sa.Integer(), nullable=False),
        sa.Column('merged_name', sa.String(length=200), nullable=False),
        sa.Column('merged_source', sa.String(length=40), nullable=True),
        sa.Column('merged_external_id', sa.String(length=120), nullable=True),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('choices', sa.JSON(), nullable=False),
        sa.Column('moved', sa.JSON(), nullable=False),
        sa.Column('merged_by_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['merged_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['survivor_id'], ['accounts.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('account_merges', schema=None) as batch_op:
        batch_op.create_index('ix_account_merges_merged_source',
                              ['merged_source', 'merged_external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_merges_survivor_id'), ['survivor_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('account_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_merges_survivor_id'))
        batch_op.drop_index('ix_account_merges_merged_source')
    op.drop_table('account_merges')
    with op.batch_alter_table('duplicate_dismissals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicate_dismissals_account_b_id'))
    op.drop_table('duplicate_dismissals')
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segments_created_by_id'))
    op.drop_table('segments')
