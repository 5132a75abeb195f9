"""route locks (issue 15) — reserved; filled in by the work on that issue

Revision ID: 0016
Revises: 0015
"""


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
