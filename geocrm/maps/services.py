"""Queries behind the territory map: layers, filter choices, compact points and popups.

Everything goes through :mod:`geocrm.access`, so the page, its data endpoint and the popup
endpoint can only ever show what the user may see. The map builder (:mod:`geocrm.maps.build`)
gets plain values from here and never queries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import BigInteger, Integer, String, case, cast, func, select, type_coerce

from geocrm.access import get_account_or_404, scope_accounts, scope_territories
from geocrm.colours import safe_colour
from geocrm.core.account_filters import AccountFilters
from geocrm.core.geocoding import LOW_CONFIDENCE, pin_provenance
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import current_locale
from geocrm.maps.colouring import colouring
from geocrm.models import Account, Role, Stage, Territory, User, territory_reps, utcnow
from territories.labels import label_point

STAGES: tuple[str, ...] = tuple(s.value for s in Stage)
# Fallback view (central Helsinki) when the user sees neither territories nor located accounts.
DEFAULT_BOUNDS = ((60.15, 24.90), (60.20, 25.00))
# Coordinates travel as integers of 1e-5 degrees (about a metre): shorter than floats in JSON.
COORD_SCALE = 100_000
#: Bumped when the payload's format changes, so no browser keeps a 304 across the change.
POINTS_FORMAT = 1


@dataclass(frozen=True)
class TerritoryLayer:
    """One territory as the map needs it: plain values, colour already checked."""

    id: int
    name: str
    color: str
    geojson: dict[str, Any]
    bounds: tuple[tuple[float, float], tuple[float, float]]  # ((south, west), (north, east))
    label_at: tuple[float, float] | None = None  # (lat, lon) well inside, for the name


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass
class MapChoices:
    """What the filter form offers this user; filter values outside it are rejected."""

    territories: list[Choice] = field(default_factory=list)
    owners: list[Choice] = field(default_factory=list)
    stages: tuple[str, ...] = STAGES


def filter_choices(user: User, owners: bool = True) -> MapChoices:
    """Territories the user works or manages, and the owners worth filtering on.

    Owners are the users owning an account the user can see, plus the reps of the user's
    territories (so a rep with no accounts yet can still be picked). Finding them reads every
    visible account's owner, so the points endpoint skips it (``owners=False``) unless the
    request filters by owner.
    """
    territories = db.session.execute(
        scope_territories(select(Territory.id, Territory.name), user).order_by(Territory.name)
    ).all()
    if not owners:
        return MapChoices(territories=[Choice(t.id, t.name) for t in territories])
    owned = scope_accounts(select(Account.owner_id).where(Account.owner_id.is_not(None)), user)
    reps = select(territory_reps.c.user_id).where(
        territory_reps.c.territory_id.in_([t.id for t in territories])
    )
    owners = db.session.execute(
        select(User.id, User.name)
        .where(User.id.in_(owned) | User.id.in_(reps))
        .order_by(User.name, User.id)
    ).all()
    return MapChoices(
        territories=[Choice(t.id, t.name) for t in territories],
        owners=[Choice(o.id, o.name) for o in owners],
    )


def parse_filters(args: Mapping[str, Any], choices: MapChoices) -> AccountFilters:
    """Parse the map's query string; any value the form could not have offered is a 422.

    Unknown stages and non-numeric ids are caught by :class:`AccountFilters`; ids of
    territories or owners outside ``choices`` are rejected here, with the same message
    whether they do not exist or are merely invisible.
    """
    filters = AccountFilters.from_args(args)
    territory_ids = {c.id for c in choices.territories}
    for tid in filters.territory_ids:
        if tid not in territory_ids:
            raise ValidationError("territory", f"no territory {tid} to filter on")
    owner_ids = {c.id for c in choices.owners}
    for oid in filters.owner_ids:
        if oid not in owner_ids:
            raise ValidationError("owner", f"no owner {oid} to filter on")
    return filters


def filter_args(filters: AccountFilters) -> dict[str, Any]:
    """The query-string form of ``filters`` (for the data URL and the form's state)."""
    args: dict[str, Any] = {}
    if filters.stages:
        args["stage"] = list(filters.stages)
    if filters.territory_ids:
        args["territory"] = list(filters.territory_ids)
    if filters.owner_ids:
        args["owner"] = list(filters.owner_ids)
    if filters.unassigned:
        args["unassigned"] = "1"
    if filters.q:
        args["q"] = filters.q
    return args


def _points_statement(user: User, filters: AccountFilters, *columns: Any) -> Any:
    """``columns`` of the located, live accounts ``user`` may see that match ``filters``."""
    stmt = select(*columns).where(
        Account.lat.is_not(None), Account.lon.is_not(None), Account.archived.is_(False)
    )
    return filters.apply(scope_accounts(stmt, user))


def territory_layers(user: User, filters: AccountFilters) -> list[TerritoryLayer]:
    """The visible territories to draw (only the filtered ones when a territory filter is set).

    The legend's account counts are filled in by the browser from the points it loads
    anyway, which saves a GROUP BY over every account on each page view.
    """
    stmt = scope_territories(select(Territory), user).order_by(Territory.name, Territory.id)
    if filters.territory_ids:
        stmt = stmt.where(Territory.id.in_(filters.territory_ids))
    elif filters.unassigned:
        return []
    territories = db.session.scalars(stmt).all()
    return [
        TerritoryLayer(
            id=t.id,
            name=t.name,
            color=safe_colour(t.color, t.id),
            geojson=shapely.geometry.mapping(t.geom),
            bounds=((t.min_lat, t.min_lon), (t.max_lat, t.max_lon)),
            label_at=label_point(t.geom),
        )
        for t in territories
    ]


def map_bounds(
    user: User, filters: AccountFilters, layers: list[TerritoryLayer]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the map opens: around the drawn territories, else around the matching accounts."""
    if layers:
        south = min(layer.bounds[0][0] for layer in layers)
        west = min(layer.bounds[0][1] for layer in layers)
        north = max(layer.bounds[1][0] for layer in layers)
        east = max(layer.bounds[1][1] for layer in layers)
        return (south, west), (north, east)
    stmt = _points_statement(
        user,
        filters,
        func.min(Account.lat),
        func.min(Account.lon),
        func.max(Account.lat),
        func.max(Account.lon),
    )
    row = db.session.execute(stmt).one()
    if row[0] is None:
        return DEFAULT_BOUNDS
    return (float(row[0]), float(row[1])), (float(row[2]), float(row[3]))


def _point_columns() -> list[Any]:
    """What each point is made of, as SQL: id, lat and lon in 1e-5 degrees, stage index,
    territory id (0 = none), 1 for a low-confidence pin. One list for the payload and for
    the checksum of :func:`points_version`, so the two cannot drift apart."""

    def scaled(column: Any) -> Any:
        return cast(func.round(column * COORD_SCALE), Integer)

    return [
        Account.id,
        scaled(Account.lat),
        scaled(Account.lon),
        case(
            {stage: i for i, stage in enumerate(STAGES)},
            value=type_coerce(Account.stage, String),
            else_=0,
        ),
        func.coalesce(Account.territory_id, 0),
        # a low-confidence pin (a geocoder's street, postcode or town): drawn as such
        case((Account.location_confidence < LOW_CONFIDENCE, 1), else_=0),
    ]


def map_points(user: User, filters: AccountFilters, colour_by: str = "stage") -> dict[str, Any]:
    """The matching accounts as compact columnar arrays (see ``territory_map.js``).

    ``id`` is delta-encoded (ascending ids, so mostly 1s), ``lat``/``lon`` are integers of
    1e-5 degrees (about a metre), ``stage`` indexes ``stages`` and ``territory`` is the
    territory id (0 = unassigned). About 22 bytes per account: 100,000 accounts ≈ 2.2 MB.
    ``colour`` indexes ``legend`` (label and colour) for the colouring ``colour_by``
    (:mod:`geocrm.maps.colouring`), two more bytes per account. ``low`` lists the positions of
    low-confidence pins (a geocoder's street, postcode or town), drawn hollow.

    The database does the encoding (rounding, stage index, null territory) and the rows go
    through Core, not the ORM: at 100,000 rows Python's per-row work is what costs.
    """
    stmt = _points_statement(user, filters, *_point_columns()).order_by(Account.id)
    result = db.session.connection().execute(stmt)
    try:
        # Every column is already a plain int: take the driver's tuples as they are rather
        # than wrapping 100,000 of them in Row objects first.
        rows = result.cursor.fetchall()
    finally:
        result.close()
    account_ids = [r[0] for r in rows]
    previous = [0, *account_ids[:-1]] if account_ids else []
    stages = [r[3] for r in rows]
    territories = [r[4] for r in rows]
    colours = colouring(user, filters, colour_by, stages, territories)
    return {
        "count": len(account_ids),
        "scale": COORD_SCALE,
        "stages": list(STAGES),
        "id": [b - a for a, b in zip(previous, account_ids, strict=True)],
        "lat": [r[1] for r in rows],
        "lon": [r[2] for r in rows],
        "stage": stages,
        "territory": territories,
        "low": [i for i, r in enumerate(rows) if r[5]],  # positions of low-confidence pins
        **colours.as_json(),
    }


def points_json(user: User, filters: AccountFilters, colour_by: str = "stage") -> str:
    """:func:`map_points` serialised without spaces (the payload is the bulk of the page)."""
    return json.dumps(map_points(user, filters, colour_by), separators=(",", ":"))


def popup_details(account_id: int, user: User) -> dict[str, Any]:
    """What a marker's popup shows; 404 for accounts the user cannot see."""
    account = get_account_or_404(account_id, user)
    return {
        "id": account.id,
        "name": account.name,
        "stage": account.stage.value,
        "last_visit": account.last_visit_at.date().isoformat() if account.last_visit_at else None,
        "territory": account.territory.name if account.territory else None,
        **pin_provenance(account),
    }


def scope_key(user: User) -> str:
    """Who sees the same accounts: company-wide roles share one scope, others their own."""
    if user.role in (Role.ADMIN, Role.PLANNER):
        return "all"
    return f"{user.role.value}:{user.id}"


def points_slot(user: User, filters: AccountFilters, colour_by: str) -> str:
    """The payload's identity apart from the data's version: scope, filters, colouring, language."""
    return json.dumps([scope_key(user), filter_args(filters), colour_by, current_locale()],
                      sort_keys=True, separators=(",", ":"))


def points_version(user: User, filters: AccountFilters, colour_by: str) -> list[Any]:
    """Numbers that change whenever the payload would: one scan in SQL, no rows to Python.

    For the stage and territory colourings, sums over exactly what the points show (count,
    ids, coordinates, and id-weighted stage, territory and low-confidence flags): an edit that
    moves, restages, re-assigns, archives or adds an account changes them, and the many edits
    that leave the map as it was (a phone number, a note, a visit) keep the version and the
    cache. Other colourings read more columns, so they also follow every edit (the last
    ``updated_at`` and the sum of ``version``), the owners' names or the hour (last-visit
    ages). The territories (names, colours, managers) always count. Integer sums only (the
    payload's own metre-scaled coordinates), so no summation order can change a digit.
    """
    _id, lat, lon, stage, territory, low = _point_columns()
    weighted = cast(Account.id, BigInteger)
    aggregates = [func.count(), func.sum(weighted), func.sum(cast(lat, BigInteger)),
                  func.sum(cast(lon, BigInteger)), func.sum(weighted * stage),
                  func.sum(weighted * territory), func.sum(weighted * low)]
    if colour_by not in ("stage", "territory"):
        aggregates += [func.max(Account.updated_at), func.sum(Account.version)]
    accounts = db.session.execute(_points_statement(user, filters, *aggregates)).one()
    territories = db.session.execute(select(
        func.count(), func.max(Territory.updated_at), func.sum(Territory.id))).one()
    version: list[Any] = [POINTS_FORMAT, *map(str, accounts), *map(str, territories)]
    if colour_by == "owner":
        names = db.session.execute(select(User.id, User.name).order_by(User.id)).all()
        version.append(hashlib.sha256(repr([tuple(n) for n in names]).encode()).hexdigest())
    elif colour_by == "visit_age":
        version.append(utcnow().strftime("%Y-%m-%dT%H"))
    return version


def points_etag(user: User, filters: AccountFilters, colour_by: str) -> str:
    """A strong ETag of the payload :func:`points_json` would give now, without building it."""
    identity = [points_slot(user, filters, colour_by), points_version(user, filters, colour_by)]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:40]
