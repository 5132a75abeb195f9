"""Migration 0010 carries existing ids and merges into source records, so the first import
after the upgrade still lands a merged-away record on its survivor."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from geocrm import create_app
from geocrm.core.names import normalise_name
from geocrm.extensions import db
from geocrm.imports.services import import_accounts
from geocrm.models import Account
from tests.geocrm.migrations.test_migrations import _fresh_postgres_database

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("engine", ENGINES)
def test_ids_and_merges_become_source_records(engine, tmp_path):
    """Each account's own id and each earlier merge's merged-away id (the newest merge of an
    id wins; a merge whose survivor is gone is skipped) become records; the next import of
    the merged-away id renames nothing and adds no account."""
    url = (f"sqlite:///{tmp_path / 'r.sqlite'}" if engine == "sqlite"
           else _fresh_postgres_database())
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
    with app.app_context():
        try:
            upgrade(revision="0009")
            with db.engine.begin() as conn:
                for n, name, ext, lat in ((1, "Kahvila Sininen", "E1", 60.17),
                                          (2, "Kirjakauppa", "E2", 60.18),
                                          (3, "Käsin tehty", None, 60.19)):
                    conn.execute(text(
                        "INSERT INTO accounts (id, name, name_key, source, external_id, lat, lon,"
                        " stage, archived, visit_minutes, priority, custom_fields, version,"
                        " created_at, updated_at) VALUES (:n, :name, :key, 'reg', :ext,"
                        " :lat, 24.94, 'lead', false, 30, 3, '{}', 1, CURRENT_TIMESTAMP,"
                        " CURRENT_TIMESTAMP)"),
                        {"n": n, "name": name, "key": normalise_name(name), "ext": ext, "lat": lat})
                for n, survivor, ext in ((1, 2, "E9"), (2, 1, "E9"), (3, None, "E8")):
                    conn.execute(text(
                        "INSERT INTO account_merges (id, survivor_id, merged_id, merged_name,"
                        " merged_source, merged_external_id, snapshot, choices, moved, at)"
                        " VALUES (:n, :s, 90, 'Old', 'reg', :ext, '{}', '{}', '{}',"
                        " CURRENT_TIMESTAMP)"), {"n": n, "s": survivor, "ext": ext})
            upgrade()
            with db.engine.connect() as conn:
                records = conn.execute(text(
                    "SELECT account_id, source, external_id FROM source_records"
                    " ORDER BY external_id")).all()
            assert [tuple(r) for r in records] == [(1, "reg", "E1"), (2, "reg", "E2"),
                                                   (1, "reg", "E9")]
            data = (b"id,name,lat,lon\nE1,Kahvila Sininen,60.17,24.94\n"
                    b"E9,Old,60.17001,24.94001\n")
            result = import_accounts(data, filename="after.csv", source="reg", mapping={
                "external_id": "id", "name": "name", "lat": "lat", "lon": "lon"})
            db.session.commit()
            assert (result.inserted, result.updated) == (0, 0), result
            assert [(d.row, d.rule) for d in result.duplicates] == [(3, "merged_into")]
            # What the merged-away record said before is unknown: its differing values are
            # conflicts to review (once), never a silent rename of the survivor.
            assert [c.field for c in result.conflicts] == ["name", "location"]
            assert db.session.scalar(select(func.count(Account.id))) == 3
            assert db.session.get(Account, 1).name == "Kahvila Sininen"
        finally:
            db.session.remove()
            db.engine.dispose()
