"""structured addresses and reading (issue 12) — reserved; filled in by the work on that issue

Revision ID: 0018
Revises: 0017
"""


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
