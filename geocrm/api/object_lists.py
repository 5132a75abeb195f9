"""What every ``/api/v1`` list and mutable object of the operations side shares (issue 18):
keyset cursors over any sort column, ``updated_since`` in UTC, and entity tags for objects
that keep no version number.

The accounts list (:mod:`geocrm.api.accounts`) pages the same way: a cursor is the sort, the
last row's sort value and its id, base64 so clients treat it as opaque. Keyset rather than
offsets: a page costs the same at the end as at the start, and a row edited between two
pages is neither skipped nor repeated.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from pydantic import Field, StringConstraints
from sqlalchemy import Select, and_, func, or_, select

from geocrm.api.schema import Schema
from geocrm.errors import PreconditionFailed, ValidationError
from geocrm.extensions import db
from geocrm.limits import MAX_DB_ID

#: PostgreSQL refuses NUL characters in text, so client text with one never gets that far.
NO_NUL = r"^[^\x00]*$"
#: Text from a client (see :data:`NO_NUL`).
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
#: A row id as a client may send it: the database's integer range, never 0 or negative.
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
#: A filter on several ids.
Ids = list[DbId]


class PageQuery(Schema):
    """What every list's query shares: changes since a moment, and the place of the page.

    Lists override ``limit`` where their rows are heavy (territories with geometry) and
    ``updated_since`` where "changed" means more than an edit (a plan's job finishing).
    """

    updated_since: datetime | None = Field(
        None, description="only the ones changed at or after this time: incremental sync")
    cursor: Text | None = Field(None, max_length=400,
                                description="`next_cursor` of the previous page")
    limit: int = Field(100, ge=1, le=1000)


@dataclass(frozen=True)
class SortKey:
    """One column a list can be sorted by: ``kind`` says how its cursor value is read back
    (``int``, ``str`` or ``time``)."""

    column: Any
    kind: str = "int"


def utc_naive(moment: datetime | None) -> datetime | None:
    """The database keeps naive UTC; an offset in the question is honoured, not dropped."""
    if moment is None or moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 east of Greenwich, year 9999 west of it
        raise ValidationError("updated_since", _("is out of range")) from None


def changed_since(stmt: Select[Any], column: Any, moment: datetime | None) -> Select[Any]:
    """``stmt`` narrowed to rows whose ``column`` is at or after ``moment`` (any offset)."""
    since = utc_naive(moment)
    return stmt if since is None else stmt.where(column >= since)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def encode_cursor(sort: str, value: Any, row_id: int) -> str:
    """The opaque place after a row: its sort value and id."""
    raw = json.dumps([sort, _plain(value), row_id], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, kind: str) -> tuple[Any, int]:
    """The place a cursor names; a cursor of another order or a mangled one is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id = json.loads(raw)
        if cursor_sort != sort or type(last_id) is not int or not 0 <= last_id <= MAX_DB_ID:
            raise ValueError
        if kind == "time":
            value = datetime.fromisoformat(value)
        elif kind == "str" and not isinstance(value, str):
            raise ValueError
        elif kind == "int" and (type(value) is not int or abs(value) > MAX_DB_ID):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationError("cursor", _("is not a cursor of this list and order")) from None
    return value, last_id


def keyset_page(stmt: Select[Any], *, sort: str, keys: Mapping[str, SortKey], id_column: Any,
                cursor: str | None, limit: int) -> tuple[list[Any], str | None, int]:
    """One page of ``stmt`` (already scoped and filtered) in ``sort`` order after ``cursor``.

    Returns the rows, the next page's cursor (``None`` on the last page) and how many rows
    the filters match in all (not only after the cursor).
    """
    key = keys[sort.lstrip("-")]
    descending = sort.startswith("-")
    total = int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if cursor is not None:
        value, last_id = decode_cursor(cursor, sort, key.kind)
        column = key.column
        if column is id_column:
            stmt = stmt.where(id_column < last_id if descending else id_column > last_id)
        elif descending:
            stmt = stmt.where(or_(column < value, and_(column == value, id_column < last_id)))
        else:
            stmt = stmt.where(or_(column > value, and_(column == value, id_column > last_id)))
    order = (key.column.desc(), id_column.desc()) if descending else (key.column, id_column)
    rows = list(db.session.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, key.column.key), last.id)
    return rows, next_cursor, total


def content_etag(body: Any) -> str:
    """A strong entity tag from what the API answers for an object: any change to it (a
    reshaped polygon, another rep, a finished job) is another tag. For objects without a
    version column (territories, plan runs, users)."""
    text = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def check_if_match(current: str, message: str | None = None) -> None:
    """412 when the client's ``If-Match`` names another state than ``current``.

    Without the header the write goes through: the phone's own edits merge by field in the
    sync, and integrations send it to never overwrite an edit they have not seen.
    """
    if request.if_match and not request.if_match.star_tag \
            and not request.if_match.contains_raw(current):
        raise PreconditionFailed(
            message or _("This changed since you read it; GET it again and re-apply your change."),
            current_etag=current)


def etag_answer(body: dict[str, Any], status: int = 200) -> Response:
    """An object as JSON with its content's entity tag, for objects without a version."""
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = content_etag(body)
    return response


def check_unchanged(body: dict[str, Any]) -> None:
    """412 unless ``If-Match`` (when sent) names this state of the object, read locked."""
    check_if_match(content_etag(body))


def page_json(rows: list[Any], to_json: Any, next_cursor: str | None, total: int) -> Response:
    """A list page in the one shape every list answers."""
    return jsonify({"total": total, "items": [to_json(row) for row in rows],
                    "next_cursor": next_cursor})


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None
