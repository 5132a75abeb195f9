"""geocoding (issue 14): the address index is a file, so this revision starts empty

The region's address index (``places.geocode.index``) is built by ``region load`` and kept as
one compact file in the instance folder beside the road graph (``region/addresses.npz``),
replaced atomically: forward geocoding at thousands of addresses a second needs it in memory,
and a failed load must leave the previous region whole, which a file swap gives and a table
rewrite does not. The account-side geocoding columns (confidence, source) belong here too.

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
