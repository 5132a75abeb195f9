"""API tokens, webhooks, sessions (issue 18) — reserved; filled in by the work on that issue

Revision ID: 0017
Revises: 0016
"""


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
