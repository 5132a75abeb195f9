"""Where an account's data came from: source records (ids and aliases) and import conflicts.

A :class:`SourceRecord` is one record of an outside system (``source`` + ``external_id``)
and the account it is, with the values the last import of that record brought, field by
field. It serves three rules of the import:

* **Merges are remembered.** A merge re-points every row that refers to the merged account
  (found through the schema's foreign keys), so the merged-away record's source record
  moves to the survivor: its external id is now an *alias* of the survivor, and the next
  import of that record lands on the survivor instead of resurrecting it. An account can
  carry several records of one source.
* **People win.** ``values`` is what the source last said (JSON-ready). An import changes
  a field only when the account still holds that value — nobody edited it since — and
  otherwise records an :class:`ImportConflict` instead of overwriting a person's edit.
* **Snapshots** flag exactly the accounts none of whose records of the source are left.

Rows without an external id have a record too (``external_id`` NULL): it carries the
values the duplicate rule matched them with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


class SourceRecord(db.Model):  # type: ignore[name-defined,misc]
    """One record of an outside system and the account it is (its own id or an alias)."""

    __tablename__ = "source_records"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_source_records_source_external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(120))
    # field -> the value the source last gave it (JSON-ready; lat/lon as "location").
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL")
    )
    row: Mapped[int | None] = mapped_column(Integer)  # its row in that batch's file
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ImportConflict(db.Model):  # type: ignore[name-defined,misc]
    """A field an import did not change because a person (or a merge) changed it since the
    source last set it, or another source set it: what it holds, what the file said."""

    __tablename__ = "import_conflicts"
    __table_args__ = (Index("ix_import_conflicts_status", "status", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batches.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(120))
    row: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    current: Mapped[Any] = mapped_column(JSON, nullable=True)  # the account's (JSON-ready)
    imported: Mapped[Any] = mapped_column(JSON, nullable=True)  # what the file said
    # open / taken (the imported value was applied) / kept (the account's value stays)
    # / superseded (a later import brought yet another value)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)

    account = relationship("Account")
