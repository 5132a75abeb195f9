"""structured addresses and reading (issue 12): accounts.region, district, street,
housenumber, building, name_reading and reading_key (indexed, for sorting and search)

Existing rows keep their one-line address as it is (no parts are guessed for them).

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_COLUMNS = (
    ('region', 120), ('district', 120), ('street', 200), ('housenumber', 60),
    ('building', 200), ('name_reading', 200), ('reading_key', 200),
)


def upgrade():
    with op.batch_alter_table('accounts') as batch_op:
        for name, length in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch_op.create_index('ix_accounts_reading_key', ['reading_key'], unique=False)


def downgrade():
    with op.batch_alter_table('accounts') as batch_op:
        batch_op.drop_index('ix_accounts_reading_key')
        for name, _length in reversed(_COLUMNS):
            batch_op.drop_column(name)
