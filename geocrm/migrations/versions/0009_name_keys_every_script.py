"""name and address keys in every script: recompute accounts.name_key/address_key

The old keys were reduced to ASCII, so every Korean or Japanese name had the key "" (and any
two such businesses within 50 m were "duplicates"), and "Ølhus" lost its "Ø". The keys are
recomputed with the one rule in ``geocrm.core.names`` (NFKC, case folding, every script kept,
legal forms dropped). The search compares these keys, so this also makes search
case-insensitive for every script on SQLite.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

from geocrm.core.names import normalise_address, normalise_name


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_accounts = sa.table('accounts', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('address', sa.String), sa.column('name_key', sa.String),
                     sa.column('address_key', sa.String))
BATCH = 5000


def upgrade():
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(_accounts.c.id, _accounts.c.name, _accounts.c.address,
                      _accounts.c.name_key, _accounts.c.address_key)
            .where(_accounts.c.id > last).order_by(_accounts.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        changed = []
        for row in rows:
            name_key, address_key = normalise_name(row.name), normalise_address(row.address)
            if (name_key, address_key) != (row.name_key, row.address_key):
                changed.append({'b_id': row.id, 'b_name_key': name_key,
                                'b_address_key': address_key})
        if changed:
            conn.execute(
                _accounts.update().where(_accounts.c.id == sa.bindparam('b_id'))
                .values(name_key=sa.bindparam('b_name_key'),
                        address_key=sa.bindparam('b_address_key')),
                changed,
            )
        last = rows[-1].id


def downgrade():
    # The new keys are a superset of what the old ones could say; nothing to restore.
    pass
