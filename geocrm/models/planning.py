"""Route plans: one rep, one day, ordered stops with times (what the planner publishes).

Also the planning runs that produce them and the background jobs that do the work: a
:class:`Job` row is the one place both job backends (in-process thread, Redis/RQ worker)
report status and progress, so the UI polls the same JSON either way.
"""

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
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


def _str_enum(enum_cls: type[enum.Enum]) -> Enum:
    return Enum(
        enum_cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
    )


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(db.Model):  # type: ignore[name-defined,misc]
    """A unit of background work: what to call, how far it got, and how it ended.

    ``func`` is ``"module:function"`` and ``kwargs`` its JSON arguments, so an RQ worker on
    another machine needs nothing but the job id to run it.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_created_by_created_at", "created_by_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    func: Mapped[str] = mapped_column(String(200))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    backend: Mapped[str] = mapped_column(String(16), default="thread")  # thread / rq
    # In-process jobs: "host:pid" of the server process whose threads run it, so a job left
    # behind by a process that stopped (a restart) can be told from one still running.
    owner: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[JobStatus] = mapped_column(_str_enum(JobStatus), default=JobStatus.QUEUED)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(300), default="")
    result: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


class PlanRun(db.Model):  # type: ignore[name-defined,misc]
    """One planning request (reps × days × accounts) and the draft plans it produced.

    ``params`` keeps the request so that a re-run (with the planner's pins) asks the same
    question; ``result`` keeps what belongs to the run rather than to one rep: the visits
    left out with their reasons, per day, and the solver's notes.
    """

    __tablename__ = "plan_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[PlanStatus] = mapped_column(_str_enum(PlanStatus), default=PlanStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    created_by = relationship("User", foreign_keys=[created_by_id])
    job = relationship("Job")
    plans = relationship(
        "RoutePlan",
        back_populates="run",
        cascade="all, delete-orphan",
        order_by="(RoutePlan.plan_date, RoutePlan.rep_id)",
    )


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
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_runs.id", ondelete="CASCADE"), index=True
    )
    # The planner locked the whole route: a re-run keeps these stops in this order and adds
    # nothing (geocrm.planning.locks).
    route_locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    rep = relationship("User", foreign_keys=[rep_id])
    run = relationship("PlanRun", back_populates="plans")
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
    # Kept at this place (``seq``) of its rep's route by a re-run (implies ``pinned``).
    position_locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned/visited/skipped

    plan = relationship("RoutePlan", back_populates="stops")
    account = relationship("Account")
