"""source records (external ids and merge aliases, with the values last imported) and
import conflicts

An import matches a row by its external id first, through ``source_records``: one row per
record of an outside system and the account it is. A merge re-points the merged account's
records to the survivor (as it does every row that refers to an account), so merged-away ids
stay aliases of the survivor. ``values`` holds what the source last said per field, so a
re-import changes a field only if nobody changed it since; otherwise ``import_conflicts``
gets a row to review.

Existing data is carried over: every account with an external id gets its record (values
unknown: the import treats the account's source as owning its fields, as before), and every
earlier merge's merged-away id becomes an alias of its survivor.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'source_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('external_id', sa.String(length=120), nullable=True),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('row', sa.Integer(), nullable=True),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'external_id', name='uq_source_records_source_external_id'),
    )
    with op.batch_alter_table('source_records') as batch_op:
        batch_op.create_index(batch_op.f('ix_source_records_account_id'), ['account_id'],
                              unique=False)
    op.create_table(
        'import_conflicts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('external_id', sa.String(length=120), nullable=True),
        sa.Column('row', sa.Integer(), nullable=True),
        sa.Column('field', sa.String(length=40), nullable=False),
        sa.Column('current', sa.JSON(), nullable=True),
        sa.Column('imported', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('import_conflicts') as batch_op:
        batch_op.create_index(batch_op.f('ix_import_conflicts_account_id'), ['account_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_import_conflicts_batch_id'), ['batch_id'],
                              unique=False)
        batch_op.create_index('ix_import_conflicts_status', ['status', 'account_id'],
                              unique=False)
    # Existing ids and merges: each account's own record, then each merged-away id as an
    # alias of its survivor (unless that id is in use already).
    op.execute(
        "INSERT INTO source_records (account_id, source, external_id, \"values\", imported_at)"
        " SELECT id, source, external_id, '{}', updated_at FROM accounts"
        " WHERE external_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO source_records (account_id, source, external_id, \"values\", imported_at)"
        " SELECT m.survivor_id, m.merged_source, m.merged_external_id, '{}', m.at"
        " FROM account_merges m WHERE m.id IN (SELECT max(id) FROM account_merges"
        " WHERE survivor_id IS NOT NULL AND merged_external_id IS NOT NULL"
        " AND merged_source IS NOT NULL GROUP BY merged_source, merged_external_id)"
        " AND NOT EXISTS (SELECT 1 FROM source_records r"
        " WHERE r.source = m.merged_source AND r.external_id = m.merged_external_id)"
    )


def downgrade():
    with op.batch_alter_table('import_conflicts') as batch_op:
        batch_op.drop_index('ix_import_conflicts_status')
        batch_op.drop_index(batch_op.f('ix_import_conflicts_batch_id'))
        batch_op.drop_index(batch_op.f('ix_import_conflicts_account_id'))
    op.drop_table('import_conflicts')
    with op.batch_alter_table('source_records') as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_records_account_id'))
    op.drop_table('source_records')
