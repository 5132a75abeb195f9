"""Models of the CRM core (issue 6): segments, duplicate dismissals and account merges.

Interactions, tasks, opportunities, contacts and the audit trail already have their tables
(:mod:`geocrm.models.activity`, :mod:`geocrm.models.records`); what the CRM core adds is
what a user *saves* (a segment's filters), what a user *decided* (two accounts are not the
same business) and what a merge *removed* (the merged account's values, so that a merge
can be explained later even though its row is gone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


class Segment(db.Model):  # type: ignore[name-defined,misc]
    """A saved filter over accounts: a campaign target group.

    Only the filter is stored, never the matching account ids: a segment is evaluated
    for the user who opens it, so a shared segment never shows anyone an account outside
    their own scope, and it follows the data as accounts move between territories.
    """

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Shared segments are listed for everybody (each sees their own scope of it).
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    created_by = relationship("User")


class DuplicateDismissal(db.Model):  # type: ignore[name-defined,misc]
    """A pair of accounts a user said are *not* duplicates; the finder skips it afterwards.

    The pair is stored in id order (``account_a_id < account_b_id``), so each pair has one
    row whichever way round it was shown.
    """

    __tablename__ = "duplicate_dismissals"
    __table_args__ = (
        UniqueConstraint("account_a_id", "account_b_id", name="uq_duplicate_dismissals_pair"),
        CheckConstraint("account_a_id < account_b_id", name="ck_duplicate_dismissals_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_a_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    account_b_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    dismissed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AccountMerge(db.Model):  # type: ignore[name-defined,misc]
    """One merge: which account survived, what the merged one held, and what moved.

    ``snapshot`` keeps every field of the merged account as it was; ``choices`` says for
    each field which side the user kept; ``moved`` counts the history rows re-pointed per
    table. The merged account's ``(source, external_id)`` is kept in columns so an import
    can recognise a record it knows under that id as the survivor.
    """

    __tablename__ = "account_merges"
    __table_args__ = (
        Index("ix_account_merges_merged_source", "merged_source", "merged_external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survivor_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    merged_id: Mapped[int] = mapped_column(Integer)  # the deleted account's id (no FK: gone)
    merged_name: Mapped[str] = mapped_column(String(200))
    merged_source: Mapped[str | None] = mapped_column(String(40))
    merged_external_id: Mapped[str | None] = mapped_column(String(120))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    choices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    moved: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    merged_by = relationship("User")
