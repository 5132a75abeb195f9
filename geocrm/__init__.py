"""GeoCRM: a self-hosted geographic field-visit CRM.

``create_app`` is the only way to get an application: it binds the extensions, registers
the blueprints and the CLI, and configures SQLite (WAL, foreign keys) when that is the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from geocrm.config import build_config
from geocrm.extensions import csrf, db, login_manager, migrate
from geocrm.i18n import init_app as init_i18n
from geocrm.limits import install as install_limits
from geocrm.sqlite_tx import write_intent  # noqa: F401  (SQLite: BEGIN IMMEDIATE for writes)

ROOT = Path(__file__).resolve().parent
TEMPLATES = ROOT.parent / "templates"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL lets the map read while an import writes; SQLite ignores foreign keys unless asked.

    Writers wait for each other (``busy_timeout``) because write transactions take the lock
    at BEGIN (:mod:`geocrm.sqlite_tx`) instead of failing with "database is locked".
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # 64 MiB page cache: bulk imports update several B-tree indexes at random keys.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _check_timezone(name: str) -> None:
    """Refuse to start with a zone nobody can use: every "today" would fail later instead."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuntimeError(
            f"GEOCRM_TIMEZONE={name!r} is not an IANA time zone (e.g. Europe/Helsinki)"
        ) from exc


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a GeoCRM application.

    Parameters
    ----------
    config
        Settings that override the defaults and the environment, e.g.
        ``{"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}``.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(TEMPLATES),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(build_config(Path(app.instance_path), config))
    _check_timezone(app.config.get("GEOCRM_TIMEZONE") or "UTC")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri in ("sqlite://", "sqlite:///:memory:"):
        # One in-memory database shared by every thread (the browser tests serve from one).
        from sqlalchemy.pool import StaticPool

        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "poolclass": StaticPool,
            "connect_args": {"check_same_thread": False},
        }

    install_limits(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    init_i18n(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    # "basic", not "strong": a rep's phone changes IP address between cell towers, and a
    # strong check would sign them out mid-route (and drop the service worker's requests).
    login_manager.session_protection = "basic"

    _register_features(app)
    return app


def _register_features(app: Flask) -> None:
    """Every blueprint, API module, command and after-request hook, in one readable list."""
    # Every blueprint by name, in one list: what the app serves is readable here. Imported in
    # the factory rather than at the top because importing any geocrm module runs this file
    # first: `import geocrm.models` must not load every feature (the jobs, the migrations and
    # the pure scripts import single modules).
    from geocrm import models  # noqa: F401  (register the tables)
    from geocrm.accounts.views import bp as accounts_bp
    from geocrm.api import accounts as api_accounts  # noqa: F401  (the account routes on api_bp)
    from geocrm.api import bp as api_bp
    from geocrm.api import contacts as api_contacts  # noqa: F401  (/api/v1/contacts)
    from geocrm.api import field as api_field  # noqa: F401  (the field app's routes on api_bp)
    from geocrm.api import geocode as api_geocode  # noqa: F401  (/api/v1/geocode/reverse)
    from geocrm.api import imports_api as api_imports  # noqa: F401  (/api/v1/imports)
    from geocrm.api import interactions as api_interactions  # noqa: F401  (/api/v1/interactions)
    from geocrm.api import openapi as api_openapi  # noqa: F401  (/api/v1/openapi.json)
    from geocrm.api import opportunities as api_opps  # noqa: F401  (/api/v1/opportunities)
    from geocrm.api import plans_api as api_plans  # noqa: F401  (/api/v1/plans, /api/v1/jobs)
    from geocrm.api import push as api_push  # noqa: F401  (/api/v1/push/...)
    from geocrm.api import ratelimit as api_ratelimit
    from geocrm.api import replan as api_replan  # noqa: F401  (/api/v1/today/replan)
    from geocrm.api import reports_api as api_reports  # noqa: F401  (/api/v1/reports/...)
    from geocrm.api import segments_api as api_segments  # noqa: F401  (/api/v1/segments)
    from geocrm.api import tasks_api as api_tasks  # noqa: F401  (/api/v1/tasks: list, one, PATCH)
    from geocrm.api import territories_api as api_territories  # noqa: F401  (/api/v1/territories)
    from geocrm.api import users_api as api_users  # noqa: F401  (/api/v1/users, admins)
    from geocrm.api import webhooks_api  # noqa: F401  (/api/v1/webhooks)
    from geocrm.api.token_pages import bp as token_pages_bp
    from geocrm.api.webhook_pages import bp as webhook_pages_bp
    from geocrm.auth.views import bp as auth_bp
    from geocrm.cli import register_cli
    from geocrm.crm.views import bp as crm_bp
    from geocrm.errors import register_error_handlers
    from geocrm.feeds.views import bp as feeds_bp
    from geocrm.field.views import bp as field_bp
    from geocrm.geocoding.views import bp as geocoding_bp
    from geocrm.imports.views import bp as imports_bp
    from geocrm.main.views import bp as main_bp
    from geocrm.maps.views import bp as maps_bp
    from geocrm.notify.dispatch import init_app as init_notify
    from geocrm.people.views import bp as people_bp
    from geocrm.planning.lock_views import bp as planning_locks_bp
    from geocrm.planning.views import bp as planning_bp
    from geocrm.prospecting.views import bp as prospecting_bp
    from geocrm.region.views import bp as region_bp
    from geocrm.security import register_security_headers
    from geocrm.teamday.views import bp as teamday_bp
    from geocrm.territory_admin.views import bp as territory_admin_bp
    from geocrm.webhooks.delivery import init_app as init_webhooks

    for blueprint in (
        auth_bp,
        main_bp,
        accounts_bp,
        maps_bp,
        imports_bp,
        geocoding_bp,
        api_bp,
        field_bp,
        crm_bp,
        territory_admin_bp,
        planning_bp,
        planning_locks_bp,
        region_bp,
        people_bp,
        feeds_bp,
        teamday_bp,
        prospecting_bp,
        token_pages_bp,
        webhook_pages_bp,
    ):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    register_security_headers(app)
    register_cli(app)
    init_notify(app)
    init_webhooks(app)
    api_ratelimit.install(app, api_bp)
