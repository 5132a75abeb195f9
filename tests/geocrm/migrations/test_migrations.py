"""The Alembic migrations build exactly the schema the models declare, on both engines."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from geocrm import create_app
from geocrm.config import normalise_database_url
from geocrm.extensions import db
from tests.conftest import postgres_url


def _fresh_postgres_database() -> str:
    """A second, empty database next to the test one, so the migration starts from nothing."""
    url = make_url(normalise_database_url(postgres_url() or ""))
    target = f"{url.database}_migrations"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    fresh = url.set(database=target)
    engine = create_engine(fresh)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return fresh.render_as_string(hide_password=False)


# The PostGIS-only expression index is declared ddl_if(postgresql); SQLite cannot reflect it.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrade_matches_models_and_downgrades(engine, tmp_path):
    """`flask db upgrade` on an empty database matches the models; downgrade empties it."""
    url = f"sqlite:///{tmp_path / 'm.sqlite'}" if engine == "sqlite" else _fresh_postgres_database()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
    with app.app_context():
        try:
            _check_upgrade_and_downgrade(engine)
        finally:
            db.session.remove()
            db.engine.dispose()


def _check_upgrade_and_downgrade(engine: str) -> None:
    upgrade()
    from geocrm.migrations_support import include_object

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []
    names = set(inspect(db.engine).get_table_names())
    assert {"accounts", "territories", "interactions", "route_plans"} <= names
    if engine == "postgres":
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("territories")}
        assert "ix_territories_geom_gist" in indexes
        with db.engine.connect() as conn:
            kind = conn.execute(
                text(
                    "SELECT udt_name FROM information_schema.columns "
                    "WHERE table_name='territories' AND column_name='geom'"
                )
            ).scalar()
        assert kind == "geometry"
    else:
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    downgrade(revision="base")
    left = set(inspect(db.engine).get_table_names()) - {"alembic_version", "spatial_ref_sys"}
    assert left == set()
