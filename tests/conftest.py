"""Shared fixtures: an app on each database engine, a client, a CLI runner, auth and a tiny world.

Every test that asks for ``app`` runs twice: on SQLite, and on PostgreSQL+PostGIS when
``GEOCRM_TEST_POSTGRES_URL`` is set. Without it the PostgreSQL run skips with a reason,
unless ``GEOCRM_REQUIRE_POSTGRES=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

from geocrm import create_app
from geocrm.extensions import db
from tests.factories import World, build_world

PASSWORD = "correct-horse-battery"
_pg_schema_ready: dict[str, bool] = {}
_worker_urls: dict[str, str] = {}


def postgres_url() -> str | None:
    """The throwaway PostgreSQL database for tests, or skip/fail as the environment asks."""
    url = os.environ.get("GEOCRM_TEST_POSTGRES_URL")
    if url:
        return _worker_database(url)
    if os.environ.get("GEOCRM_REQUIRE_POSTGRES") == "1":
        pytest.fail("GEOCRM_REQUIRE_POSTGRES=1 but GEOCRM_TEST_POSTGRES_URL is not set")
    pytest.skip("PostgreSQL tests need GEOCRM_TEST_POSTGRES_URL (see .ci/run)")
    return None


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets its own database, ``<name>_<worker>``, made on first
    use with PostGIS: workers empty their tables between tests, so they cannot share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    if url in _worker_urls:
        return _worker_urls[url]
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    worker_url = base.set(database=name).render_as_string(hide_password=False)
    _worker_urls[url] = worker_url
    return worker_url


def _prepare_postgres(url: str) -> None:
    """Once per run: a clean public schema with PostGIS, then the models' tables."""
    if _pg_schema_ready.get(url):
        return
    from geocrm.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    _pg_schema_ready[url] = True


def _truncate_postgres() -> None:
    """Empty every table between tests: DELETE beats TRUNCATE on tables this small."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine_name(request: pytest.FixtureRequest) -> str:
    """Which database engine this run of the test uses."""
    return str(request.param)


@pytest.fixture
def database_url(engine_name: str, tmp_path: Any) -> str:
    if engine_name == "postgres":
        url = postgres_url()
        assert url is not None
        _prepare_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture
def app_config(database_url: str, tmp_path: Any) -> dict[str, Any]:
    """Settings for the test app; tests may update it before asking for ``app``."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "GEOCRM_TILE_URL": "",
        # Straight-line travel: a region `make run` loaded into ./instance must not change the
        # suite's hand-computed times (tests/geocrm/region/test_region.py loads its own regions).
        "GEOCRM_TRAVEL": "straight",
        # No geocoder (an address index in ./instance would queue jobs on address edits);
        # tests/geocrm/geocoding sets its own.
        "GEOCRM_GEOCODER": "off",
        # Cheap hashing keeps the suite fast; test_auth checks the production default separately.
        "GEOCRM_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": None,
    }


@pytest.fixture
def app(app_config: dict[str, Any], engine_name: str) -> Iterator[Flask]:
    """A GeoCRM app with an empty schema on the engine under test."""
    app = create_app(app_config)
    with app.app_context():
        if engine_name == "postgres":
            _truncate_postgres()
        else:
            db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def world(app: Flask) -> World:
    """Two territories, a rep in each, a manager, a planner, an admin and a few accounts."""
    return build_world(PASSWORD)


class AuthActions:
    """Log in and out through the real login form (flaskr's helper)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
