"""Territories: named, coloured (multi)polygons worked by one or more reps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Column, DateTime, Float, ForeignKey, Index, Integer, String, Table, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import Geometry, utcnow

territory_reps = Table(
    "territory_reps",
    db.metadata,
    Column("territory_id", ForeignKey("territories.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Territory(db.Model):  # type: ignore[name-defined,misc]
    """A polygon or multipolygon in EPSG:4326.

    The bounding box is stored beside the geometry so that SQLite can prefilter with plain
    B-tree indexes; PostGIS uses the GiST index on ``geom`` instead.
    """

    __tablename__ = "territories"
    __table_args__ = (
        Index("ix_territories_bbox", "min_lon", "max_lon", "min_lat", "max_lat"),
        Index("ix_territories_geom_gist", "geom", postgresql_using="gist").ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    color: Mapped[str] = mapped_column(String(7), default="#3388ff")
    geom: Mapped[BaseGeometry] = mapped_column(Geometry())
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    # Overlap rule: higher priority wins, then the smaller area (see territories.assign).
    priority: Mapped[int] = mapped_column(Integer, default=0)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    reps = relationship(
        "User", secondary=territory_reps, back_populates="territories", lazy="selectin"
    )
    manager = relationship("User", foreign_keys=[manager_id])

    def set_geometry(self, geom: BaseGeometry) -> None:
        """Set the polygon and keep the bounding-box columns in step with it."""
        self.geom = geom
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = (float(v) for v in geom.bounds)

    def __repr__(self) -> str:
        return f"<Territory {self.name}>"


@event.listens_for(Session, "before_flush")
def _staff_change_is_a_change(session: Session, _context: Any, _instances: Any) -> None:
    """A territory whose reps changed gets a new ``updated_at``.

    The reps live in ``territory_reps``, so changing them alone updates no ``territories``
    row and ``onupdate`` never fires; yet the API's ETag, ``updated_since`` and the map's
    version all read ``updated_at``. Done here, once, for every door: the map editor, the
    API, undo and redo of a revision.
    """
    for obj in session.dirty:
        if isinstance(obj, Territory) and sa_inspect(obj).attrs.reps.history.has_changes():
            obj.updated_at = utcnow()
