"""notifications and calendar feeds (issue 17) — reserved; filled in by the work on that issue

Revision ID: 0013
Revises: 0012
"""


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
