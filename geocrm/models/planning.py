"""Route plans: one rep, one day, ordered stops with times (what the planner publishes)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class RoutePlan(db.Model):  # type: ignore[name-defined,misc]
    """A rep's day as planned; ``unassigned`` keeps the visits left out with their reasons."""

    __tablename__ = "route_plans"
    __table_args__ = (Index("ix_route_plans_rep_date", "rep_id", "plan_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plan_date: Mapped[date] = mapped_column(Date)
    status: Mapped[PlanStatus] = mapped_column(
        Enum(
            PlanStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=PlanStatus.DRAFT,
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    distance_m: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unassigned: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)

    rep = relationship("User", foreign_keys=[rep_id])
    stops = relationship(
        "RouteStop", back_populates="plan", cascade="all, delete-orphan", order_by="RouteStop.seq"
    )


class RouteStop(db.Model):  # type: ignore[name-defined,misc]
    """One ordered stop: when the rep arrives, may start, and leaves."""

    __tablename__ = "route_stops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("route_plans.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    arrival: Mapped[datetime | None] = mapped_column(DateTime)
    start: Mapped[datetime | None] = mapped_column(DateTime)
    departure: Mapped[datetime | None] = mapped_column(DateTime)
    travel_s: Mapped[int | None] = mapped_column(Integer)
    distance_m: Mapped[float | None] = mapped_column(Float)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned/visited/skipped

    plan = relationship("RoutePlan", back_populates="stops")
    account = relationship("Account")
