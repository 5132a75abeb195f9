"""What Alembic should compare: shared by ``migrations/env.py`` and the schema test."""

from __future__ import annotations

from typing import Any

POSTGIS_TABLES = {"spatial_ref_sys", "geography_columns", "geometry_columns"}
# Created only on PostGIS, by hand in the migrations (the models declare them with ddl_if).
PG_ONLY_INDEXES = {"ix_territories_geom_gist", "ix_accounts_geog_gist"}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave PostGIS's own tables and our engine-specific indexes out of autogenerate."""
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    if type_ == "index" and name in PG_ONLY_INDEXES:
        return False
    return True
