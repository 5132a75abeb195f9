"""one spelling per value: location_source 'check-in' -> 'checkin'; visit outcomes as the app spells them

The field app wrote ``check-in`` and the pin correction ``checkin`` for the same pin source;
the demo wrote visit outcomes with spaces ("not interested") that the app spells with
underscores ("not_interested"), so reports counted them apart. Only spellings of the same
value are rewritten; a value with another meaning is left as it is.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

LOCATION_SOURCES = {'check-in': 'checkin', 'check in': 'checkin', 'Check-in': 'checkin'}
OUTCOMES = {
    'not interested': 'not_interested', 'not-interested': 'not_interested',
    'order placed': 'order_placed', 'order-placed': 'order_placed',
    'follow-up needed': 'follow_up', 'follow up': 'follow_up', 'follow-up': 'follow_up',
    'no answer': 'no_answer', 'no-answer': 'no_answer',
}
_accounts = sa.table('accounts', sa.column('location_source', sa.String))
_interactions = sa.table('interactions', sa.column('outcome', sa.String),
                         sa.column('kind', sa.String))


def upgrade():
    for old, new in LOCATION_SOURCES.items():
        op.execute(_accounts.update().where(_accounts.c.location_source == old)
                   .values(location_source=new))
    for old, new in OUTCOMES.items():
        op.execute(_interactions.update()
                   .where(_interactions.c.outcome == old,
                          _interactions.c.kind != 'campaign_response')
                   .values(outcome=new))


def downgrade():
    # The old spellings were the bug; there is nothing to restore.
    pass
