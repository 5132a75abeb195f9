"""Column types that behave the same on SQLite and on PostgreSQL+PostGIS.

``Geometry`` stores shapely geometries. On PostGIS it is a real ``geometry(Geometry, 4326)``
column (so GiST indexes and ``ST_*`` functions work on it); on SQLite it is a WKB blob that
the repository reads back into shapely for exact tests after an indexed bounding-box
prefilter. Either way Python code only ever sees shapely objects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import UserDefinedType

SRID = 4326


def utcnow() -> datetime:
    """Naive UTC now: every timestamp in the database is naive UTC, on both engines."""
    return datetime.now(UTC).replace(tzinfo=None)


class _GeomFromWKB(FunctionElement[Any]):
    inherit_cache = True
    name = "geocrm_geom_from_wkb"


class _GeomAsWKB(FunctionElement[Any]):
    inherit_cache = True
    name = "geocrm_geom_as_wkb"


@compiles(_GeomFromWKB)
def _from_wkb_default(element: _GeomFromWKB, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_GeomFromWKB, "postgresql")
def _from_wkb_pg(element: _GeomFromWKB, compiler: Any, **kw: Any) -> str:
    return f"ST_GeomFromWKB({compiler.process(element.clauses, **kw)}, {SRID})"


@compiles(_GeomAsWKB)
def _as_wkb_default(element: _GeomAsWKB, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_GeomAsWKB, "postgresql")
def _as_wkb_pg(element: _GeomAsWKB, compiler: Any, **kw: Any) -> str:
    return f"ST_AsBinary({compiler.process(element.clauses, **kw)})"


class Geometry(UserDefinedType[BaseGeometry]):
    """A shapely geometry in EPSG:4326: PostGIS ``geometry`` or SQLite WKB ``BLOB``."""

    cache_ok = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Reflection passes the PostGIS modifiers ("Geometry", 4326); the type is always 4326.
        super().__init__()

    def get_col_spec(self, **kw: Any) -> str:
        return "BLOB"

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return _GeomFromWKB(bindvalue)

    def column_expression(self, colexpr: Any) -> ColumnElement[Any]:
        expr = _GeomAsWKB(colexpr)
        expr.type = self  # so results still go through result_processor
        return expr

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: BaseGeometry | None) -> bytes | None:
            if value is None:
                return None
            return bytes(shapely.to_wkb(value))

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        def process(value: Any) -> BaseGeometry | None:
            if value is None:
                return None
            if isinstance(value, memoryview):
                value = value.tobytes()
            if isinstance(value, str):  # hex WKB from some drivers
                value = bytes.fromhex(value)
            return shapely.from_wkb(value)

        return process


@compiles(Geometry, "postgresql")
def _geometry_pg(element: Geometry, compiler: Any, **kw: Any) -> str:
    return f"geometry(Geometry,{SRID})"


def _register_reflection() -> None:
    """Let SQLAlchemy (and so Alembic) reflect PostGIS ``geometry`` columns as our type."""
    from sqlalchemy.dialects.postgresql.base import ischema_names

    ischema_names.setdefault("geometry", Geometry)


_register_reflection()
