"""What happens at accounts: interactions (visits, calls...), tasks and opportunities."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


class InteractionKind(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    EMAIL = "email"
    NOTE = "note"
    CAMPAIGN_RESPONSE = "campaign_response"


class VisitOutcome(enum.StrEnum):
    """What came of a visit, call or email: one spelling each, shared by the web form, the
    phone app, the API and the demo (migration 0008 rewrote "not interested" and friends)."""

    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    FOLLOW_UP = "follow_up"
    ORDER_PLACED = "order_placed"
    NO_ANSWER = "no_answer"
    CLOSED = "closed"


#: The outcome values in their display order.
VISIT_OUTCOMES: tuple[str, ...] = tuple(o.value for o in VisitOutcome)


class Interaction(db.Model):  # type: ignore[name-defined,misc]
    """One contact with an account.

    ``uuid`` is generated on the phone, so a write replayed by the offline outbox is
    applied exactly once. A check-in outside the geofence is kept and flagged, not refused.
    """

    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_account_at", "account_id", "occurred_at"),
        Index("ix_interactions_user_at", "user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[InteractionKind] = mapped_column(_enum(InteractionKind))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    checkin_at: Mapped[datetime | None] = mapped_column(DateTime)
    checkin_lat: Mapped[float | None] = mapped_column(Float)
    checkin_lon: Mapped[float | None] = mapped_column(Float)
    checkin_accuracy_m: Mapped[float | None] = mapped_column(Float)
    checkout_at: Mapped[datetime | None] = mapped_column(DateTime)
    checkout_lat: Mapped[float | None] = mapped_column(Float)
    checkout_lon: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)  # check-in position to the account
    # None when verified; else why not: "outside_geofence", "poor_accuracy", "no_location",
    # "no_pin" (see geocrm.field.visits.locate and :attr:`verification`).
    location_flag: Mapped[str | None] = mapped_column(String(24))
    outcome: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    route_stop_id: Mapped[int | None] = mapped_column(
        ForeignKey("route_stops.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Every change (a check-out, an outcome, a merge moving it) for the API's updated_since.
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)

    user = relationship("User")
    account = relationship("Account")

    @property
    def verification(self) -> str | None:
        """A visit's check-in in one word, for the timeline, reports and the daily report:
        ``verified`` (inside the geofence with a good enough fix), ``outside`` (far from the
        pin), ``unverified`` (a fix too imprecise to tell, no position, or no pin to compare
        with); None for what is not a check-in."""
        if self.checkin_at is None:
            return None
        return CHECKIN_STATUS.get(self.location_flag or "", "unverified")


#: How each check-in flag reads (one rule: geocrm.field.visits.locate sets the flags).
CHECKIN_STATUS = {"": "verified", "outside_geofence": "outside", "poor_accuracy": "unverified",
                  "no_location": "unverified", "no_pin": "unverified"}


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Task(db.Model):  # type: ignore[name-defined,misc]
    """A follow-up with an assignee and a due date, often born from an interaction."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_assignee_status_due", "assignee_id", "status", "due_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL")
    )
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.OPEN)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)  # the API's updated_since

    account = relationship("Account")
    assignee = relationship("User", foreign_keys=[assignee_id])


class OpportunityStage(enum.StrEnum):
    QUALIFY = "qualify"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"


class Opportunity(db.Model):  # type: ignore[name-defined,misc]
    """A deal in the pipeline."""

    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[OpportunityStage] = mapped_column(
        _enum(OpportunityStage), default=OpportunityStage.QUALIFY
    )
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    expected_close: Mapped[date | None] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    account = relationship("Account")
