"""Book-keeping: import batches, the audit trail and who-owned-what-when history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from geocrm.extensions import db
from geocrm.models.types import utcnow


class ImportBatch(db.Model):  # type: ignore[name-defined,misc]
    """One uploaded file: its fingerprint, counts and the row-level reject report."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # committed / rejected / unchanged
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    rejects: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duplicates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class AuditEntry(db.Model):  # type: ignore[name-defined,misc]
    """Who changed what, when: field-level changes of an entity."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # create / update / delete / merge
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AssignmentHistory(db.Model):  # type: ignore[name-defined,misc]
    """An account's territory over time: one open row (``until`` null) per account."""

    __tablename__ = "assignment_history"
    __table_args__ = (Index("ix_assignment_history_account", "account_id", "since"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    territory_id: Mapped[int | None] = mapped_column(
        ForeignKey("territories.id", ondelete="SET NULL")
    )
    since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    until: Mapped[datetime | None] = mapped_column(DateTime)
    # The territory's name then: the row still says whose it was after the territory is
    # deleted (its id goes to NULL with it).
    territory_name: Mapped[str | None] = mapped_column(String(120))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(60))
