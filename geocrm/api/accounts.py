"""JSON API routes of the accounts: the services of the pages, problem documents on bad input."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.accounts import services
from geocrm.api import bp
from geocrm.core.accounts import account_address, display_lines
from geocrm.core.addresses import PARTS
from geocrm.core.transaction import commits
from geocrm.crm import services as crm_services
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account
from geocrm.params import arg_int, to_float, to_int
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
        "value": str(a.value) if a.value is not None else None,
        "phone": a.phone,
        "email": a.email,
        "tags": a.tag_names,
        "last_visit_at": a.last_visit_at.isoformat() if a.last_visit_at else None,
        "version": a.version,
    }


@bp.route("/accounts")
@login_required
def accounts() -> Any:
    """A page of the accounts the user may see."""
    filters = services.AccountFilters.from_args(request.args)
    page = arg_int("page", 1, 1, 100_000)
    per_page = arg_int("per_page", 100, 1, 1000)
    rows, total = services.list_accounts(current_user, filters, page=page, per_page=per_page)
    return jsonify(
        {
            "total": total,
            "page": page,
            "per_page": per_page,
            "items": [account_json(a) for a in rows],
        }
    )


@bp.route("/accounts/<int:account_id>")
@login_required
def account(account_id: int) -> Any:
    """One account with contacts, recent interactions and open tasks."""
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
    return jsonify(body)


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
        raise ValidationError("body", "must be a JSON object")
    interaction_id = data.get("interaction_id")
    if not isinstance(interaction_id, int) or isinstance(interaction_id, bool):
        raise ValidationError("interaction_id", "must be an integer")
    account = crm_services.correct_pin_from_checkin(current_user, account_id, interaction_id)
    return jsonify(account_json(account))


@bp.route("/accounts/<int:account_id>", methods=["PATCH"])
@login_required
@commits
def patch_account(account_id: int) -> Any:
    """Edit fields of an account (JSON body); 422 names the bad field."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    return jsonify(account_json(services.update_account(account_id, current_user, data)))


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
        raise ValidationError("body", "must be a JSON object")
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
