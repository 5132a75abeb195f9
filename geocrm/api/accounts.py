"""JSON API routes of the accounts: the services of the pages, problem documents on bad input."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from pydantic import Field
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from geocrm.access import get_account_or_404, roles_required, visible_accounts
from geocrm.accounts import services
from geocrm.api import bp
from geocrm.api.object_lists import (
    Ids,
    PageQuery,
    check_if_match,
    decode_cursor,
    encode_cursor,
    page_json,
    utc_naive,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.core.account_filters import AccountFilters
from geocrm.core.accounts import account_address, display_lines
from geocrm.core.addresses import PARTS
from geocrm.core.transaction import commits
from geocrm.crm import services as crm_services
from geocrm.errors import ValidationError, problem
from geocrm.extensions import db
from geocrm.imports.reading import FIELDS
from geocrm.imports.services import IMPORTERS, after_import, import_records
from geocrm.models import Account, Stage
from geocrm.params import to_float, to_int
from geocrm.spatial import SpatialRepository, bbox_around


def account_json(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "name_reading": a.name_reading,
        "address": a.address,
        "city": a.city,
        # The parts (geocrm.core.addresses) and the whole address in the country's order.
        "country": a.country,
        **{part: getattr(a, part) for part in PARTS if part != "city"},
        "address_lines": display_lines(account_address(a)),
        "lat": a.lat,
        "lon": a.lon,
        "stage": a.stage.value,
        "territory_id": a.territory_id,
        "owner_id": a.owner_id,
        "opening_hours": a.opening_hours,
        "visit_minutes": a.visit_minutes,
        "cadence_days": a.cadence_days,
        "priority": a.priority,
        "required_skills": a.required_skills,
        "value": str(a.value) if a.value is not None else None,
        "phone": a.phone,
        "email": a.email,
        "tags": a.tag_names,
        "last_visit_at": a.last_visit_at.isoformat() if a.last_visit_at else None,
        "version": a.version,
        "archived": a.archived,
        "source": a.source,
        "external_id": a.external_id,
        "updated_at": a.updated_at.isoformat() if a.updated_at else None,
    }


class AccountListQuery(PageQuery):
    """Filters, order and place of a page of accounts."""

    q: str | None = Field(None, max_length=100, description="words of the name or address")
    stage: list[Stage] = Field(default_factory=list)
    territory: Ids = Field(default_factory=list)
    owner: Ids = Field(default_factory=list)
    unassigned: bool = Field(False, description="include accounts outside every territory")
    updated_since: datetime | None = Field(
        None, description="only accounts changed at or after this time (archived ones too): "
        "incremental sync")
    sort: Literal[services.SORTS] = "id"  # type: ignore[valid-type]


class AccountOut(Loose):
    id: int
    name: str
    version: int
    stage: Stage
    updated_at: str
    external_id: str | None = None


class AccountPage(Loose):
    total: int
    items: list[AccountOut]
    next_cursor: str | None = Field(description="absent or null on the last page")


#: How each sort's cursor value is read back (``name`` is the reading-order key, a text).
CURSOR_KINDS = {"id": "int", "name": "str", "updated_at": "time"}


def _cursor(sort: str, account: Account) -> str:
    """The place after ``account`` in ``sort`` order, in the one cursor format of the API."""
    return encode_cursor(sort, services.sort_value(account, sort), account.id)


@bp.route("/accounts")
@login_required
@api_schema(query=AccountListQuery, responses={200: AccountPage})
def accounts(query: AccountListQuery) -> Any:
    """A page of the accounts the user may see (keyset ``cursor``, filters, ``sort``).

    ``total`` counts every account matching the filters (not only the rest after the cursor).
    """
    filters = AccountFilters(
        q=(query.q or "").strip(), stages=[s.value for s in query.stage],
        territory_ids=list(query.territory), owner_ids=list(query.owner),
        unassigned=query.unassigned)
    after = None if query.cursor is None else decode_cursor(
        query.cursor, query.sort, CURSOR_KINDS[query.sort.lstrip("-")])
    since = utc_naive(query.updated_since)
    rows = services.account_page(current_user, filters, sort=query.sort, after=after,
                                 limit=query.limit + 1, updated_since=since)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    total = services.count_accounts(current_user, filters, updated_since=since)
    return page_json(rows, account_json, _cursor(query.sort, rows[-1]) if more else None, total)


def account_etag(account: Account) -> str:
    """The account's ``version`` as a strong entity tag (every edit bumps it)."""
    return f'"{account.version}"'


@bp.route("/accounts/<int:account_id>")
@login_required
@api_schema(responses={200: AccountOut}, headers={200: {"ETag": "the account's version"}})
def account(account_id: int) -> Any:
    """One account with contacts, recent interactions and open tasks (``ETag``: its version)."""
    card = services.account_detail(account_id, current_user)
    body = account_json(card.account)
    body["contacts"] = [
        {"id": c.id, "name": c.name, "title": c.title, "phone": c.phone, "email": c.email}
        for c in card.account.contacts
    ]
    body["interactions"] = [
        {
            "uuid": i.uuid,
            "kind": i.kind.value,
            "occurred_at": i.occurred_at.isoformat(),
            "outcome": i.outcome,
            "notes": i.notes,
            "next_step": i.next_step,
            "distance_m": i.distance_m,
            "location_flag": i.location_flag,
            "verification": i.verification,
        }
        for i in card.interactions
    ]
    body["open_tasks"] = [
        {"id": t.id, "title": t.title, "due_date": t.due_date.isoformat() if t.due_date else None}
        for t in card.open_tasks
    ]
    pin = crm_services.pin_suggestion(card.account, current_user)
    body["pin_suggestion"] = (
        None
        if pin is None
        else {
            "interaction_id": pin.interaction_id,
            "lat": pin.lat,
            "lon": pin.lon,
            "accuracy_m": pin.accuracy_m,
            "offset_m": pin.offset_m,
            "at": pin.at.isoformat(),
            "low_confidence": pin.low_confidence,
        }
    )
    response = jsonify(body)
    response.headers["ETag"] = account_etag(card.account)
    return response


@bp.route("/accounts/<int:account_id>/pin", methods=["POST"])
@login_required
@commits
def correct_pin(account_id: int) -> Any:
    """Move the account's pin to a verified check-in (``{"interaction_id": n}``).

    Online only: it answers with the account as it now is, so the phone updates its copy.
    """
    get_account_or_404(account_id, current_user)  # 404 before any word about the body
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("body", _("must be a JSON object"))
    interaction_id = data.get("interaction_id")
    if not isinstance(interaction_id, int) or isinstance(interaction_id, bool):
        raise ValidationError("interaction_id", _("must be an integer"))
    account = crm_services.correct_pin_from_checkin(current_user, account_id, interaction_id)
    return jsonify(account_json(account))


class AccountEdit(Loose):
    """Any editable field of the account (``name``, ``stage``, ``phone``, ``lat``/``lon``...);
    the account rules judge each value and a bad one is a 422 naming it."""


@bp.route("/accounts/<int:account_id>", methods=["PATCH"])
@login_required
@commits
@api_schema(body=AccountEdit, responses={200: AccountOut}, errors=(412,),
            headers={200: {"ETag": "the account's new version"}})
def patch_account(account_id: int, body: AccountEdit) -> Any:
    """Edit fields of an account (JSON body); 422 names the bad field, 412 a stale
    ``If-Match``."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("body", _("must be a JSON object"))
    current = services.locked_account(account_id, current_user)
    check_if_match(account_etag(current), _(
        "The account changed since you read it; GET it again and re-apply your edit."))
    account = services.update_account(account_id, current_user, data)
    response = jsonify(account_json(account))
    response.headers["ETag"] = account_etag(account)
    return response


class AccountRecord(Loose):
    """One account as the import takes it: ``external_id`` and any import field
    (``name``, ``address``, ``lat``, ``lon``, ``stage``, ``phone``, ``tags``...)."""

    external_id: str = Field(min_length=1, max_length=120)


class BulkUpsert(Schema):
    source: str = Field("api", min_length=1, max_length=40,
                        description="the system the records come from; external ids are "
                        "unique within it")
    dry_run: bool = Field(False, description="answer what would change, write nothing")
    items: list[AccountRecord] = Field(min_length=1, max_length=5000)


class BulkReject(Loose):
    row: int
    field: str
    reason: str


class BulkResult(Loose):
    status: str = Field(description="committed, unchanged or (with dry_run) what it would be")
    counts: dict[str, int]
    conflicts: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]


def _cell(value: Any) -> str:
    """A JSON value as the text a file's cell would hold (the import judges text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, int | float | str):
        return str(value)
    raise ValidationError("items", _("values must be text, numbers, true/false or lists"))


@bp.route("/accounts/bulk", methods=["POST"])
@roles_required(*IMPORTERS)
@commits
@api_schema(body=BulkUpsert, responses={200: BulkResult}, errors=(403,))
def bulk_upsert(body: BulkUpsert) -> Any:
    """Create or update accounts by external id, by the import's rules (all or nothing).

    Each record is matched by ``source`` + ``external_id``: a new one is inserted, a known one
    changes the fields the source still owns (an edit a person made wins and is listed in
    ``conflicts``). Any bad record answers 422 with every ``rejects`` entry (record number
    from 1, field, reason) and nothing is written.
    """
    allowed = set(FIELDS) | {"lat", "lon", "tags"}
    records: list[dict[str, str]] = []
    for number, item in enumerate(body.items, start=1):
        data = item.model_dump()
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValidationError(f"items.{number}.{unknown[0]}", _("is not an account field"))
        records.append({k: _cell(v) for k, v in data.items()})
    result = import_records(records, user=current_user, source=body.source,
                            dry_run=body.dry_run)
    if result.status == "rejected":
        return problem(422, "ValidationError", _("Some records are invalid; nothing was written."),
                       rejects=[{"row": r.row, "field": r.field, "reason": r.reason}
                                for r in result.rejects])
    after_import(result, current_user.id)  # records without coordinates get placed, as uploads
    return jsonify({
        "status": result.status,
        "batch_id": result.batch_id,
        "counts": result.counts,
        "conflicts": [dataclasses.asdict(c) for c in result.conflicts],
        "duplicates": [dataclasses.asdict(d) for d in result.duplicates],
    })


NEAR_COLUMNS = (
    Account.id,
    Account.name,
    Account.address,
    Account.city,
    Account.lat,
    Account.lon,
    Account.stage,
    Account.territory_id,
    Account.owner_id,
    Account.phone,
    Account.priority,
    Account.last_visit_at,
)
NEAR_KEYS = tuple(c.key for c in NEAR_COLUMNS)
FILTER_KEYS = {"q", "stage", "territory", "owner", "unassigned"}


@bp.route("/accounts/near", methods=["GET"])
@login_required
def accounts_near_in_url() -> Any:
    """Refused: a position in a URL ends up in access logs. POST it in the body instead."""
    raise ValidationError("lat", "send the position in the request body (POST), not the URL")


@bp.route("/accounts/near", methods=["POST"])
@login_required
@commits  # a read with its question in the body: POST only to keep positions out of URLs
def accounts_near() -> Any:
    """Accounts within ``radius`` metres of the body's ``lat``/``lon``, nearest first.

    The position travels in the JSON body, never the URL (URLs end up in access logs).
    Takes the list's filters too (``stage``, ``q``, ``territory``...) and pages with
    ``offset``/``limit``: ``more`` says whether further accounts lie within the radius and
    ``next_offset`` asks for them. Answers the short form of each account (what a list on the
    phone shows); the card has the rest.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("body", _("must be a JSON object"))
    lat = to_float(body.get("lat"), "lat", lo=-90, hi=90)
    lon = to_float(body.get("lon"), "lon", lo=-180, hi=180)
    radius = to_float(body.get("radius"), "radius", lo=1, hi=200_000, default=2000)
    limit = to_int(body.get("limit"), "limit", lo=1, hi=500, default=100)
    offset = to_int(body.get("offset"), "offset", lo=0, hi=100_000, default=0)
    assert lat is not None and lon is not None and radius is not None
    assert limit is not None and offset is not None
    filters = services.AccountFilters.from_args(MultiDict(
        [(k, v) for k, vs in body.items() if k in FILTER_KEYS
         for v in (vs if isinstance(vs, list) else [vs]) if v is not None]))
    base = filters.apply(visible_accounts(current_user).where(Account.archived.is_(False)))
    repo = SpatialRepository(db.session)
    if not repo.postgis:
        # Without statistics SQLite prefers the scoping's territory index (every account of
        # the rep) over the lat/lon index; a primary-key IN over the bounding box steers it
        # to the box first (70 ms -> 4 ms at 100k accounts).
        min_lon, min_lat, max_lon, max_lat = bbox_around(lat, lon, radius)
        box = select(Account.id).where(
            Account.lat.between(min_lat, max_lat), Account.lon.between(min_lon, max_lon)
        )
        base = base.where(Account.id.in_(box))
    # One more than asked tells whether the radius holds more (no second count query).
    near = repo.accounts_near(lat, lon, radius, base=base, limit=offset + limit + 1,
                              columns=NEAR_COLUMNS)
    more = len(near) > offset + limit
    items = []
    for n in near[offset:offset + limit]:
        r = n.row
        item = dict(zip(NEAR_KEYS, r, strict=True))
        item["stage"] = item["stage"].value
        item["last_visit_at"] = r[11].isoformat() if r[11] else None
        item["distance_m"] = round(n.distance_m, 1)
        items.append(item)
    return jsonify({"items": items, "offset": offset, "more": more,
                    "next_offset": offset + limit if more else None})
