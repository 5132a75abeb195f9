"""address index and geocoding (issue 14) — reserved; filled in by the work on that issue

Revision ID: 0015
Revises: 0014
"""


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
