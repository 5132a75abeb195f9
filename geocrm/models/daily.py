"""A rep's daily report (日報 / 영업일지): their comment on the day, its submission, and the
manager's replies.

The day itself (visits, check-in and check-out times, distance driven, notes) is not copied
here: it is read from the interactions when the report is shown, so a visit that syncs late
still appears (marked as arriving after the submission). Only what people write is stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


class DailyReport(db.Model):  # type: ignore[name-defined,misc]
    """One rep's report on one local day: ``draft`` until they submit it."""

    __tablename__ = "daily_reports"
    __table_args__ = (UniqueConstraint("rep_id", "report_date", name="uq_daily_reports_rep_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    report_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft / submitted
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # when a manager (or planner, admin) first read the submitted report
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    rep = relationship("User", foreign_keys=[rep_id])
    read_by = relationship("User", foreign_keys=[read_by_id])
    comments = relationship("DailyReportComment", back_populates="report",
                            cascade="all, delete-orphan",
                            order_by="(DailyReportComment.created_at, DailyReportComment.id)")


class DailyReportComment(db.Model):  # type: ignore[name-defined,misc]
    """A manager's comment on a report (or the rep's answer to it)."""

    __tablename__ = "daily_report_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("daily_reports.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    report = relationship("DailyReport", back_populates="comments")
    author = relationship("User")
