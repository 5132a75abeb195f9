"""Segments in ``/api/v1`` (issue 18): saved account filters, listed, read, created, changed
(412 on a stale ``If-Match``) and deleted through the segment pages' rules
(:mod:`geocrm.crm.segments`: only the maker or an admin may change one, 403 otherwise), and
a segment's accounts as the user sees them today, paged by cursor.

A segment stores a filter, never ids: its accounts are evaluated for whoever asks, inside
their scope, on the day they ask.
"""

from __future__ import annotations

import bisect
from decimal import Decimal
from typing import Any, Literal

from flask import jsonify
from flask_login import current_user, login_required
from pydantic import Field
from sqlalchemy import select

from geocrm.api import bp
from geocrm.api.accounts import AccountPage, account_json
from geocrm.api.object_lists import (
    NO_NUL,
    DbId,
    PageQuery,
    SortKey,
    Text,
    changed_since,
    check_unchanged,
    decode_cursor,
    encode_cursor,
    etag_answer,
    iso,
    keyset_page,
    page_json,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.core.transaction import commits
from geocrm.crm import segments
from geocrm.extensions import db
from geocrm.models import Account, Stage
from geocrm.models.crm import Segment

SORTS = ("id", "-id", "name", "-name", "updated_at", "-updated_at")
KEYS = {"id": SortKey(Segment.id), "name": SortKey(Segment.name, "str"),
        "updated_at": SortKey(Segment.updated_at, "time")}


def segment_json(s: Segment) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "description": s.description,
            "filters": dict(s.filters or {}), "shared": bool(s.shared),
            "created_by_id": s.created_by_id, "created_at": iso(s.created_at),
            "updated_at": iso(s.updated_at)}


class SegmentFilterIn(Schema):
    """What a segment selects (every part optional, the parts ANDed)."""

    territory_ids: list[DbId] = Field(default_factory=list, max_length=500)
    unassigned: bool = False
    stages: list[Stage] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, max_length=100)
    min_value: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"))
    max_value: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"))
    not_visited_days: int | None = Field(None, ge=0, le=36500)
    visited_within_days: int | None = Field(None, ge=0, le=36500)
    overdue: bool = Field(False, description="more days since the last visit than the cadence")
    near_lat: float | None = Field(None, ge=-90, le=90)
    near_lon: float | None = Field(None, ge=-180, le=180)
    near_km: float | None = Field(None, ge=0.001, le=segments.MAX_RADIUS_KM)
    q: str | None = Field(None, max_length=100, pattern=NO_NUL)


class SegmentEdit(Schema):
    """The parts to change; ``filters`` replaces the whole filter."""

    name: str | None = Field(None, min_length=1, max_length=120, pattern=NO_NUL)
    description: str | None = Field(None, max_length=2000, pattern=NO_NUL)
    shared: bool | None = None
    filters: SegmentFilterIn | None = None


class SegmentNew(SegmentEdit):
    name: str = Field(min_length=1, max_length=120, pattern=NO_NUL)  # type: ignore[assignment]


class SegmentOut(Loose):
    id: int
    name: str
    filters: dict[str, Any]
    shared: bool
    updated_at: str


class SegmentListQuery(PageQuery):
    """Order and place of a page of segments (mine and the shared ones)."""

    mine: bool = Field(False, description="only the segments I made")
    sort: Literal[SORTS] = "id"  # type: ignore[valid-type]


class SegmentPage(Loose):
    total: int
    items: list[SegmentOut]
    next_cursor: str | None = Field(description="null on the last page")


class SegmentAccountsQuery(Schema):
    cursor: Text | None = Field(None, max_length=400)
    limit: int = Field(100, ge=1, le=1000)


def _form(segment: Segment | None, body: SegmentEdit) -> dict[str, Any]:
    """The segment page's form values: the stored segment with the body's changes on top."""
    values: dict[str, Any] = {}
    if segment is not None:
        values = {"name": segment.name, "description": segment.description or "",
                  "shared": segment.shared, **(segment.filters or {})}
    changes = body.model_dump(mode="json", exclude_unset=True)
    if changes.get("filters", {}) is None:
        changes["filters"] = {}
    if "filters" in changes:
        for key in segments.SegmentFilters.__dataclass_fields__:
            values.pop(key, None)
        values.update({k: v for k, v in changes.pop("filters").items() if v is not None})
    values.update(changes)
    values["shared"] = "1" if values.get("shared") else ""
    return values


def _locked(segment_id: int) -> Segment:
    """The segment if the user may open it, its row locked and its ``If-Match`` checked."""
    segment = segments.get_segment_or_404(segment_id, current_user)
    db.session.refresh(segment, with_for_update=True)
    check_unchanged(segment_json(segment))
    return segment


@bp.route("/segments")
@login_required
@api_schema(query=SegmentListQuery, responses={200: SegmentPage})
def segment_list(query: SegmentListQuery) -> Any:
    """A page of the segments the user may open: their own and the shared ones."""
    stmt = segments.visible_segments(current_user)
    if query.mine:
        stmt = stmt.where(Segment.created_by_id == current_user.id)
    stmt = changed_since(stmt, Segment.updated_at, query.updated_since)
    rows, next_cursor, total = keyset_page(stmt, sort=query.sort, keys=KEYS,
                                           id_column=Segment.id, cursor=query.cursor,
                                           limit=query.limit)
    return page_json(rows, segment_json, next_cursor, total)


@bp.route("/segments", methods=["POST"])
@login_required
@commits
@api_schema(body=SegmentNew, responses={201: SegmentOut},
            headers={201: {"ETag": "the segment's entity tag"}})
def create_segment(body: SegmentNew) -> Any:
    """Save a segment (a named filter), private unless ``shared``."""
    return etag_answer(segment_json(segments.save_segment(current_user, _form(None, body))), 201)


@bp.route("/segments/<int:segment_id>")
@login_required
@api_schema(responses={200: SegmentOut}, headers={200: {"ETag": "the segment's entity tag"}})
def segment(segment_id: int) -> Any:
    """One segment (``ETag``: its content)."""
    return etag_answer(segment_json(segments.get_segment_or_404(segment_id, current_user)))


@bp.route("/segments/<int:segment_id>", methods=["PATCH"])
@login_required
@commits
@api_schema(body=SegmentEdit, responses={200: SegmentOut}, errors=(412,),
            headers={200: {"ETag": "the segment's new entity tag"}})
def patch_segment(segment_id: int, body: SegmentEdit) -> Any:
    """Change a segment's name, description, sharing or filters (its maker or an admin:
    403 otherwise); 412 on a stale ``If-Match``."""
    segment = _locked(segment_id)
    saved = segments.save_segment(current_user, _form(segment, body), segment_id)
    return etag_answer(segment_json(saved))


@bp.route("/segments/<int:segment_id>", methods=["DELETE"])
@login_required
@commits
@api_schema(responses={204: None}, errors=(412,))
def delete_segment(segment_id: int) -> Any:
    """Delete a segment (its maker or an admin: 403 otherwise); 412 on a stale ``If-Match``."""
    _locked(segment_id)
    segments.delete_segment(current_user, segment_id)
    return "", 204


@bp.route("/segments/<int:segment_id>/accounts")
@login_required
@api_schema(query=SegmentAccountsQuery, responses={200: AccountPage})
def segment_accounts(segment_id: int, query: SegmentAccountsQuery) -> Any:
    """A page of the segment's accounts as the user sees them today, by id."""
    ids = segments.segment_account_ids(segment_id, current_user)  # ascending
    start = 0
    if query.cursor is not None:
        start = bisect.bisect_right(ids, decode_cursor(query.cursor, "id", "int")[1])
    chunk = ids[start:start + query.limit]
    rows = sorted(db.session.scalars(select(Account).where(Account.id.in_(chunk))),
                  key=lambda a: a.id)
    more = start + query.limit < len(ids)
    return jsonify({"total": len(ids), "items": [account_json(a) for a in rows],
                    "next_cursor": encode_cursor("id", chunk[-1], chunk[-1]) if more else None})
