"""territory_admin tables: territory revisions (undo) and balance proposals

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'territory_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('summary', sa.String(length=300), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('territory_ids', sa.JSON(), nullable=False),
        sa.Column('before', sa.JSON(), nullable=False),
        sa.Column('created', sa.JSON(), nullable=False),
        sa.Column('moved', sa.JSON(), nullable=False),
        sa.Column('notes', sa.JSON(), nullable=False),
        sa.Column('undone_at', sa.DateTime(), nullable=True),
        sa.Column('undone_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('territory_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_territory_revisions_created', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_territory_revisions_created_by_id'),
                              ['created_by_id'], unique=False)

    op.create_table(
        'balance_proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('proposal', sa.JSON(), nullable=False),
        sa.Column('stats', sa.JSON(), nullable=False),
        sa.Column('replaces', sa.JSON(), nullable=False),
        sa.Column('revision_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['revision_id'], ['territory_revisions.id'],
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('balance_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_balance_proposals_created_by_id'),
                              ['created_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('balance_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_balance_proposals_created_by_id'))
    op.drop_table('balance_proposals')
    with op.batch_alter_table('territory_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_territory_revisions_created_by_id'))
        batch_op.drop_index('ix_territory_revisions_created')
    op.drop_table('territory_revisions')
