"""Models of territory management (issue 4): revisions for undo, balance proposals.

A :class:`TerritoryRevision` is written in the same transaction as every territory change
(draw, edit, split, delete, import, reps, balance). It keeps what the change overwrote: the
previous geometry and settings of the territories it touched, the ids of those it created,
and the previous territory of every account it moved. Undo replays that snapshot, so it
restores exactly the state before, not a recomputation of it.

A :class:`BalanceProposal` keeps a computed balance between the preview and the apply: the
manager applies what they saw, and a balance that took seconds is not computed twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from geocrm.extensions import db
from geocrm.models.types import utcnow


class TerritoryRevision(db.Model):  # type: ignore[name-defined,misc]
    """What one territory change replaced, so that it can be undone.

    ``before`` holds one entry per territory that existed before and was touched (its
    id, name, colour, priority, manager, reps and geometry as WKB hex); ``created`` the ids
    of territories the change made; ``moved`` maps account id → previous territory id
    (``None`` for unassigned) for every account whose territory changed.
    """

    __tablename__ = "territory_revisions"
    __table_args__ = (Index("ix_territory_revisions_created", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # create/edit/split/delete/import/reps/balance
    # The summary in English as written (older rows have only this) and, since issue 12, as a
    # code with parameters that the history shows in its reader's language
    # (geocrm.territory_admin.notes); ``notes`` holds such codes too, or older rows' English.
    summary: Mapped[str] = mapped_column(String(300))
    summary_note: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    territory_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    before: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created: Mapped[list[int]] = mapped_column(JSON, default=list)
    moved: Mapped[dict[str, int | None]] = mapped_column(JSON, default=dict)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class BalanceProposal(db.Model):  # type: ignore[name-defined,misc]
    """A balance computed for preview: its inputs, the proposed territories and the numbers."""

    __tablename__ = "balance_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default="preview")  # preview/applied
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{rep_id, geometry (GeoJSON), workload_hours, accounts, compactness}, ...]
    proposal: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # before/after numbers shown in the preview table
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # ids of the territories the proposal replaces (in the user's scope when computed)
    replaces: Mapped[list[int]] = mapped_column(JSON, default=list)
    revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("territory_revisions.id", ondelete="SET NULL")
    )
