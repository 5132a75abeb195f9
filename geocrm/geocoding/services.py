"""Placing accounts from their addresses, and addresses from pins.

Forward: :func:`geocode_pending` takes the accounts marked pending in ``account_geocodes``
(after an import, after an address change), asks the geocoder in batches *before writing
anything* (a remote engine at one request a second may take an hour, and SQLite must not be
write-locked meanwhile), then re-reads the accounts and moves the pins by the rule of
:func:`geocrm.core.accounts.move_pin`, in bulk like the import (territory and its history,
audit, version), with ``location_source="geocoder"``, the grade's number in
``location_confidence`` (what Data health reads) and the grade's name in
``account_geocodes.confidence``. A pin a person placed or a
verified check-in corrected is never moved (:func:`geocrm.core.geocoding.may_geocode`); an
account whose address changed again while the engine was asked stays pending for the next run.

Reverse: :func:`address_at` is what "add account here" shows; :func:`fill_missing_addresses`
gives pinned accounts without an address the one the geocoder finds at the pin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, or_, select, update

from geocrm.access import scope_accounts
from geocrm.core import audit
from geocrm.core.accounts import PIN_FIELDS, check_coordinates, normalise_address, touch
from geocrm.core.assignment import chunks, moves_for_points, record_moves
from geocrm.core.geocoding import (
    ADDRESS_FIELDS,
    geocoder_configured,
    mark_pending,
    may_geocode,
    queue_geocoding,
    skip_marks,
)
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.geocoding.engine import current_geocoder
from geocrm.models import Account, AuditEntry, Territory, User, utcnow
from geocrm.models.accounts import LocationSource
from geocrm.models.geocoding import AccountGeocode, GeocodeStatus
from geocrm.models.planning import Job
from places.geocode import AddressQuery, Confidence, Geocoder, GeocodeResult
from places.geocode.engines import EngineError, query_key

log = logging.getLogger(__name__)

#: The grade's number in ``accounts.location_confidence`` (Data health flags below 0.5): a
#: street-only pin or worse is a low-confidence pin.
SCORES: dict[Confidence, float] = {
    Confidence.EXACT: 1.0,
    Confidence.INTERPOLATED: 0.75,
    Confidence.STREET: 0.4,
    Confidence.POSTCODE: 0.25,
    Confidence.LOCALITY: 0.1,
}
#: Countries that write the house number before the street ("1 Main Street").
NUMBER_FIRST = frozenset({"US", "GB", "IE", "FR", "CA", "AU", "NZ", "IL", "PH", "SG", "LU"})
BATCH = 200


def is_low(confidence: Confidence | str | None) -> bool:
    """Whether a named grade means "somewhere near", not "this house" (street or coarser)."""
    if confidence is None:
        return False
    return Confidence(confidence).rank >= Confidence.STREET.rank


def query_for(account: Account) -> AddressQuery:
    """The account's address as a geocoder query: structured parts where the model has them,
    the one-line address as text, and the postcode, city and country as given."""
    def part(name: str) -> str | None:
        value = getattr(account, name, None)
        return str(value).strip() or None if value is not None else None

    return AddressQuery(text=part("address"), country=part("country"),
                        postcode=part("postcode"), region=part("region"), city=part("city"),
                        district=part("district"), street=part("street"),
                        housenumber=part("housenumber"), building=part("building"))


@dataclass
class GeocodeRun:
    """What one run did (the job's result, the CLI's summary)."""

    placed: int = 0
    low_confidence: int = 0
    not_found: int = 0
    no_address: int = 0
    kept: int = 0  # a person's or a check-in's pin: not moved
    still_pending: int = 0  # the address changed meanwhile, or the engine stopped answering
    engine: str = ""
    error: str | None = None
    by_confidence: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"placed": self.placed, "low_confidence": self.low_confidence,
                "not_found": self.not_found, "no_address": self.no_address, "kept": self.kept,
                "still_pending": self.still_pending, "engine": self.engine,
                "error": self.error, "by_confidence": dict(self.by_confidence)}


def pending_ids(limit: int | None = None) -> list[int]:
    """Accounts waiting for the geocoder, oldest mark first."""
    stmt = (select(AccountGeocode.account_id)
            .join(Account, Account.id == AccountGeocode.account_id)
            .where(AccountGeocode.status == GeocodeStatus.PENDING.value,
                   Account.archived.is_(False))
            .order_by(AccountGeocode.updated_at, AccountGeocode.account_id))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def mark_pinless(account_ids: list[int] | None = None) -> int:
    """Mark accounts without a pin, with an address and never looked at, as pending.

    What an import calls after it commits (its new rows without coordinates), and what
    ``flask geocode run`` starts with. ``account_ids`` narrows it to those accounts.
    """
    has_address = or_(*(getattr(Account, f).is_not(None) for f in ADDRESS_FIELDS
                        if f != "country"))
    stmt = (select(Account.id)
            .outerjoin(AccountGeocode, AccountGeocode.account_id == Account.id)
            .where(Account.archived.is_(False), Account.lat.is_(None),
                   AccountGeocode.account_id.is_(None), has_address))
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(account_ids))
    ids = list(db.session.scalars(stmt))
    db.session.add_all(AccountGeocode(account_id=i, status=GeocodeStatus.PENDING.value)
                       for i in ids)
    db.session.flush()
    return len(ids)


def mark_stale() -> int:
    """Mark the geocoder's pins whose address changed since they were placed (by any path:
    an import's bulk update does not pass the ORM hook of :mod:`geocrm.core.geocoding`)."""
    stmt = (select(Account, AccountGeocode.query_key)
            .join(AccountGeocode, AccountGeocode.account_id == Account.id)
            .where(AccountGeocode.status == GeocodeStatus.PLACED.value,
                   AccountGeocode.query_key.is_not(None), Account.archived.is_(False),
                   Account.location_source == LocationSource.GEOCODER.value))
    stale = [account.id for account, key in db.session.execute(stmt)
             if query_key(query_for(account)) != key]
    mark_pending(db.session, stale)
    db.session.flush()
    return len(stale)


def mark_pending_ids(account_ids: list[int]) -> None:
    """Mark these accounts for the geocoder (the job still keeps people's pins)."""
    mark_pending(db.session, account_ids)
    db.session.flush()


def retry_unplaced() -> int:
    """Mark accounts the geocoder did not find or could not ask as pending again."""
    rows = list(db.session.scalars(select(AccountGeocode).where(AccountGeocode.status.in_(
        [GeocodeStatus.NOT_FOUND.value, GeocodeStatus.FAILED.value]))))
    for row in rows:
        row.status, row.error = GeocodeStatus.PENDING.value, None
    db.session.flush()
    return len(rows)


def geocode_pending(geocoder: Geocoder, *, user: User | None = None,
                    progress: Callable[[float, str], None] | None = None,
                    batch: int = BATCH) -> GeocodeRun:
    """Geocode every pending account (see the module docstring). Flushes, never commits."""
    run = GeocodeRun(engine=geocoder.name)
    ids = pending_ids()
    queries: dict[int, AddressQuery] = {}
    for start in range(0, len(ids), 1000):
        for account in db.session.scalars(select(Account).where(
                Account.id.in_(ids[start:start + 1000]))):
            queries[account.id] = query_for(account)
    found: dict[int, GeocodeResult | None] = {}
    todo = [i for i in ids if i in queries and not queries[i].is_empty()]
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        if progress is not None:
            progress(0.95 * start / max(1, len(todo)),
                     f"geocoding {start + 1}-{start + len(chunk)} of {len(todo)}")
        try:
            answers = geocoder.forward_many([queries[i] for i in chunk])
        except EngineError as exc:
            run.error = str(exc)
            break
        found.update(zip(chunk, answers, strict=True))
    if progress is not None:
        progress(0.96, f"placing {len(found)} accounts")
    _apply(ids, queries, found, run, user)
    return run


def _apply(ids: list[int], queries: dict[int, AddressQuery],
           found: dict[int, GeocodeResult | None], run: GeocodeRun, user: User | None) -> None:
    placed: list[tuple[Account, GeocodeResult]] = []
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        # populate_existing: what others committed while the engine was asked wins
        rows = {r.account_id: r for r in db.session.scalars(
            select(AccountGeocode).where(AccountGeocode.account_id.in_(chunk))
            .execution_options(populate_existing=True))}
        accounts = {a.id: a for a in db.session.scalars(
            select(Account).where(Account.id.in_(chunk))
            .execution_options(populate_existing=True))}
        for account_id in chunk:
            account, row = accounts.get(account_id), rows.get(account_id)
            if account is None or row is None or row.status != GeocodeStatus.PENDING.value:
                continue
            if not may_geocode(account):
                row.status, row.error = GeocodeStatus.PLACED.value, None
                run.kept += 1
                continue
            query = queries.get(account_id)
            if query is None or query != query_for(account):
                run.still_pending += 1  # new since we asked (or the address changed again)
                continue
            if query.is_empty():
                row.status = GeocodeStatus.NO_ADDRESS.value
                run.no_address += 1
                continue
            if account_id not in found:
                run.still_pending += 1  # the engine stopped answering before this one
                continue
            result = found[account_id]
            row.engine, row.error = (result.source if result else run.engine), None
            if result is None:
                row.status, row.confidence, row.label = GeocodeStatus.NOT_FOUND.value, None, None
                run.not_found += 1
                continue
            row.status = GeocodeStatus.PLACED.value
            row.query_key = query_key(query)
            row.confidence = result.confidence.value
            row.label = (result.label or "")[:300] or None
            placed.append((account, result))
            run.placed += 1
            run.by_confidence[result.confidence.value] = \
                run.by_confidence.get(result.confidence.value, 0) + 1
            run.low_confidence += is_low(result.confidence)
    _move_pins(placed, user)


def _move_pins(placed: list[tuple[Account, GeocodeResult]], user: User | None) -> None:
    """Re-place the accounts by the rule of :func:`geocrm.core.accounts.move_pin` (pin, source,
    confidence, territory with its history, audit, version), in bulk: the import's way of
    moving thousands at once (``moves_for_points`` + ``record_moves``), a few statements per
    batch instead of several queries per account."""
    db.session.flush()  # the status rows first: the bulk writes below expire the session
    if not placed:
        return
    now = utcnow()
    user_id = user.id if user is not None else None
    rows, befores = [], []
    for account, result in placed:
        befores.append((account.id, audit.snapshot(account, PIN_FIELDS), result))
        rows.append({"id": account.id, "lat": result.lat, "lon": result.lon,
                     "location_source": LocationSource.GEOCODER.value,
                     "location_confidence": SCORES[result.confidence],
                     "version": (account.version or 1) + 1, "updated_at": now})
    moves = moves_for_points(rows, list(db.session.scalars(select(Territory))))
    by_id = {r["id"]: r for r in rows}
    entries = []
    for account_id, before, result in befores:
        changes = audit.diff(before, {k: by_id[account_id].get(k) for k in PIN_FIELDS})
        if changes:
            entries.append({"user_id": user_id, "entity": "account", "entity_id": account_id,
                            "action": "pin", "at": now,
                            "changes": {**changes, "geocode": result.confidence.value,
                                        "engine": result.source}})
    for chunk in chunks(rows, 500):  # bulk UPDATE by primary key
        db.session.execute(update(Account), chunk)
    for chunk in chunks(entries, 500):
        db.session.execute(insert(AuditEntry), chunk)
    if moves:
        record_moves(moves, user_id=user_id, reason="placed from the address", now=now)
    db.session.expire_all()


def mark_after_import() -> int:
    """Mark an import's rows without coordinates and the geocoded accounts whose address it
    changed as waiting for the geocoder; how many. Does not commit."""
    return mark_pinless() + mark_stale()


def geocode_after_import(user_id: int | None) -> Job | None:
    """What an import calls once it has committed: its rows without coordinates (every live
    pinless account with an address not looked at yet) and the geocoded accounts whose address
    it changed are marked, and the background job is queued when a geocoder is configured.
    Commits (the job row must reach the worker); :func:`mark_after_import` is the part that
    does not."""
    marked = mark_after_import()
    if not geocoder_configured():
        db.session.commit()
        return None
    job = queue_geocoding(user_id)
    return job if marked or job is not None else None


def summary(user: User) -> dict[str, Any]:
    """How the visible accounts' pins stand: by source, by geocoder state and by grade."""
    visible = scope_accounts(select(Account.id).where(Account.archived.is_(False)), user)
    ids = visible.subquery()
    by_status = dict(db.session.execute(
        select(AccountGeocode.status, func.count()).join(ids, ids.c.id == AccountGeocode.account_id)
        .group_by(AccountGeocode.status)).all())
    by_grade = dict(db.session.execute(
        select(AccountGeocode.confidence, func.count())
        .join(ids, ids.c.id == AccountGeocode.account_id)
        .join(Account, Account.id == AccountGeocode.account_id)
        .where(AccountGeocode.confidence.is_not(None),
               Account.location_source == LocationSource.GEOCODER.value)
        .group_by(AccountGeocode.confidence)).all())
    pinless = db.session.scalar(scope_accounts(
        select(func.count(Account.id)).where(Account.archived.is_(False), Account.lat.is_(None)),
        user)) or 0
    return {"by_status": {s.value: int(by_status.get(s.value, 0)) for s in GeocodeStatus},
            "by_grade": {c.value: int(by_grade.get(c.value, 0)) for c in Confidence},
            "pinless": int(pinless),
            "missing_address": len(accounts_missing_address(user=user))}


def read_position(body: dict[str, Any]) -> tuple[float, float]:
    """``lat``/``lon`` from a JSON body, checked like every coordinate (field-named errors)."""
    if isinstance(body.get("lat"), bool | str) or isinstance(body.get("lon"), bool | str):
        raise ValidationError("lat", _("must be a number"))
    coords = check_coordinates(body.get("lat"), body.get("lon"))
    if coords is None:
        raise ValidationError("lat", _("is required (the phone's position)"))
    return coords


# -- reverse ----------------------------------------------------------------------------------
def address_line(result: GeocodeResult) -> str | None:
    """The one-line street address of a result ("Mannerheimintie 1", "1 Main Street")."""
    street = result.address.get("street")
    number = result.address.get("housenumber")
    if not street:
        return None
    if not number:
        return street
    country = result.address.get("country", "").upper()
    return f"{number} {street}" if country in NUMBER_FIRST else f"{street} {number}"


def address_at(geocoder: Geocoder, lat: float, lon: float) -> dict[str, Any] | None:
    """What to fill into "add account here": the address nearest the position, or None."""
    result = geocoder.reverse(lon, lat)
    if result is None:
        return None
    return {"address": address_line(result), "postcode": result.address.get("postcode"),
            "city": result.address.get("city"), "country": result.address.get("country") or None,
            "street": result.address.get("street"),
            "housenumber": result.address.get("housenumber"),
            "label": result.label, "confidence": result.confidence.value,
            "engine": result.source}


def fill_address(account: Account, found: dict[str, Any], user: User | None) -> bool:
    """Give a pinned account without an address the one found at its pin (only the empty
    fields; the pin stays where it is). Returns whether anything changed. Flushes."""
    skip_marks(db.session, account.id)  # the address comes from the pin: do not re-geocode
    before = audit.snapshot(account, ADDRESS_FIELDS)
    changed = False
    for name in ("address", "postcode", "city", "country", "street", "housenumber"):
        value = found.get(name)
        if value and hasattr(account, name) and not getattr(account, name):
            limit = getattr(Account, name).type.length or 300
            setattr(account, name, str(value)[:limit])
            changed = True
    if not changed:
        return False
    account.address_key = normalise_address(account.address)
    touch(account)
    audit.record_changes(user, "account", account.id, before,
                         audit.snapshot(account, ADDRESS_FIELDS), action="address_from_pin")
    db.session.flush()
    return True


def fill_address_at_pin(account: Account, user: User | None) -> bool:
    """An account just placed at a phone's position ("add account here") without an address,
    or without postcode and city: fill the empty fields from the address at its pin. A typed
    address that is not the one found stays as typed (and nothing else is filled from a
    place the rep did not mean). Never raises for the geocoder: the rep's write comes first."""
    if account.lat is None or account.lon is None or (
            account.address and account.city and account.postcode):
        return False
    try:
        geocoder = current_geocoder()
        found = address_at(geocoder, account.lat, account.lon) if geocoder else None
    except (ValidationError, EngineError):
        log.warning("no address for account %s at its pin", account.id, exc_info=True)
        return False
    if not found or not found.get("address"):
        return False
    if account.address and normalise_address(account.address) != normalise_address(
            found["address"]):
        return False
    return fill_address(account, found, user)


def accounts_missing_address(limit: int | None = None, user: User | None = None) -> list[int]:
    """Pinned, live accounts with no street address at all (those ``user`` sees, if given)."""
    stmt = select(Account.id).where(Account.archived.is_(False), Account.lat.is_not(None),
                                    Account.lon.is_not(None),
                                    or_(Account.address.is_(None), Account.address == ""))
    if hasattr(Account, "street"):
        stmt = stmt.where(or_(Account.street.is_(None), Account.street == ""))
    if user is not None:
        stmt = scope_accounts(stmt, user)
    stmt = stmt.order_by(Account.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def fill_missing_addresses(geocoder: Geocoder, *, user: User | None = None,
                           limit: int | None = None,
                           progress: Callable[[float, str], None] | None = None
                           ) -> dict[str, Any]:
    """Reverse-geocode every pinned account without an address. Flushes, never commits."""
    ids = accounts_missing_address(limit)
    filled = not_found = 0
    error = None
    for n, account_id in enumerate(ids):
        if progress is not None and n % 50 == 0:
            progress(n / max(1, len(ids)), f"addresses {n + 1} of {len(ids)}")
        account = db.session.get(Account, account_id)
        if account is None or account.lat is None or account.lon is None:
            continue
        try:
            found = address_at(geocoder, account.lat, account.lon)
        except EngineError as exc:
            error = str(exc)
            break
        if found and found.get("address") and fill_address(account, found, user):
            filled += 1
        else:
            not_found += 1
    return {"accounts": len(ids), "filled": filled, "not_found": not_found, "error": error,
            "engine": geocoder.name}
