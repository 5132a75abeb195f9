"""Look-alike prospects from the region's OpenStreetMap places (adding them: :mod:`.adding`).

The rules, each in one place elsewhere and only *used* here:

* **What the customers look like** is the categories of the accounts the user may see
  (:func:`geocrm.access.visible_accounts`) that are customers, or of a saved segment
  (:func:`geocrm.crm.segments.segment_account_ids`): a category's weight is its share of them
  relative to the most common one. Where they are is what "near" means.
* **Not yet in the CRM** is the import's rule (:class:`geocrm.imports.matching.Matcher`):
  a place whose ``node/123`` is an account's (or a source record's, or a merged-away
  alias's) external id of the source ``osm`` is that account; a place with the same
  normalised name within 50 m of an account, or the same address and a similar name
  (:mod:`geocrm.core.names`, every script), looks like one and is not proposed.
* **A place becomes a prospect** through the import's row rules
  (:func:`geocrm.imports.rows.clean_row`, i.e. :mod:`geocrm.core.accounts` and the
  opening-hours grammar of :mod:`geocrm.core.hours`) and its bulk writer
  (:func:`geocrm.imports.writing.write_import`): source ``osm``, external id ``node/123``,
  the territory its position falls in with its history, the audit trail, the source record
  that lets a newer extract update what nobody changed by hand. The unique
  (source, external id) makes adding twice double nothing.

A field OSM has that the account rules refuse (hours in a dialect the grammar cannot read,
a phone longer than the column) is left out of the prospect and said so; a place whose
*name* is refused is not proposed.
"""

from __future__ import annotations

import gc
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from flask_babel import gettext as _
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import or_, select

from geocrm.access import scope_territories, visible_accounts
from geocrm.core.region_places import place_index
from geocrm.crm.segments import segment_account_ids
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.imports.matching import Matcher
from geocrm.imports.results import Duplicate, ImportResult, Reject
from geocrm.imports.rows import clean_row
from geocrm.models import Account, Role, Stage, Territory, User, utcnow
from geocrm.models.provenance import SourceRecord
from places.poi import PoiIndex, Ranked, category_weights, inside, rank, within_radius

SOURCE = "osm"
ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
ATTRIBUTION_URL = "https://www.openstreetmap.org/copyright"
MAX_RESULTS = 500
MAX_ADD = 500
MAX_RADIUS_M = 100_000.0
NEAR_PAD_M = 100.0  # what the search's matcher looks at beyond its places (the rule: 50 m)
SCALE_M = 1500.0  # a place this far from the nearest customer scores 1/e of a neighbour's
# What an import does with a row that says it is *not* a new business.
_NOT_NEW = {"repeat", "matched", "linked", "merged", "review"}


# -- the region and the request -----------------------------------------------------------
def loaded_index() -> PoiIndex:
    """The loaded region's places, or a clear error when no region (or an older one without
    places) is loaded."""
    index = place_index()
    if index is None:
        raise ValidationError("region", _("No region with places is loaded: an administrator "
                                          "loads one under Region (region load)."))
    return index


def number_in(body: Mapping[str, Any], key: str, lo: float, hi: float) -> float:
    """``body[key]`` as a finite number in [lo, hi], or a clear error naming the field."""
    return _number(body, key, lo, hi)


def _number(body: Mapping[str, Any], key: str, lo: float, hi: float) -> float:
    raw = body.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValidationError(key, _("must be a number"))
    if not lo <= float(raw) <= hi:
        raise ValidationError(key, _("must be between %(lo)s and %(hi)s", lo=lo, hi=hi))
    return float(raw)


@dataclass(frozen=True)
class Area:
    """Where to look: a territory, a circle, or a drawn polygon (lon/lat)."""

    kind: str  # territory / radius / polygon / all
    geometry: BaseGeometry | None = None
    centre: tuple[float, float] | None = None  # lon, lat
    metres: float | None = None
    territory_id: int | None = None


def parse_area(body: Mapping[str, Any], user: User) -> Area:
    """The area of a request body: ``{"territory": id}``, ``{"lat", "lon", "radius_m"}`` or
    ``{"polygon": <GeoJSON Polygon/MultiPolygon, or a Feature of one>}``; nothing: the
    user's territories (everywhere for company-wide roles)."""
    raw = body.get("area") or {}
    if not isinstance(raw, Mapping):
        raise ValidationError("area", _("must be an object"))
    if raw.get("territory") not in (None, ""):
        tid = raw["territory"]
        if isinstance(tid, bool) or not isinstance(tid, int):
            raise ValidationError("territory", _("must be a territory id"))
        territory = db.session.scalars(
            scope_territories(select(Territory), user).where(Territory.id == tid)).one_or_none()
        if territory is None:
            raise NotFoundError(f"No territory {tid}.")
        return Area("territory", territory.geom, territory_id=tid)
    if raw.get("polygon") is not None:
        return Area("polygon", _polygon(raw["polygon"]))
    if any(raw.get(k) is not None for k in ("lat", "lon", "radius_m")):
        lat = _number(raw, "lat", -90, 90)
        lon = _number(raw, "lon", -180, 180)
        metres = _number(raw, "radius_m", 1, MAX_RADIUS_M)
        return Area("radius", centre=(lon, lat), metres=metres)
    return Area("all")


def _polygon(raw: Any) -> BaseGeometry:
    if isinstance(raw, Mapping) and raw.get("type") == "Feature":
        raw = raw.get("geometry")
    if not isinstance(raw, Mapping) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationError("polygon", _("must be a GeoJSON Polygon or MultiPolygon"))
    try:
        geom = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValidationError("polygon", _("is not a valid GeoJSON polygon")) from exc
    if geom.is_empty:
        raise ValidationError("polygon", _("is empty"))
    west, south, east, north = geom.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ValidationError("polygon", _("has coordinates outside longitude/latitude"))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.area <= 0:
        raise ValidationError("polygon", _("is empty"))
    return geom


def _scope_geometry(user: User) -> BaseGeometry | None:
    """The union of the territories a scoped user works or manages; None: the whole region."""
    if user.role in (Role.ADMIN, Role.PLANNER):
        return None
    geoms = list(db.session.scalars(scope_territories(select(Territory.geom), user)))
    return shapely.union_all(geoms) if geoms else shapely.Polygon()


def area_mask(index: PoiIndex, area: Area, user: User) -> npt.NDArray[np.bool_]:
    """Which places lie in ``area`` and in what ``user`` may work."""
    if area.kind == "radius":
        assert area.centre is not None and area.metres is not None
        mask = within_radius(index, area.centre[0], area.centre[1], area.metres)
    elif area.geometry is not None:
        mask = inside(index, area.geometry)
    else:
        mask = np.ones(len(index), dtype=bool)
    scope = _scope_geometry(user)
    if scope is not None:
        mask &= inside(index, scope) if not scope.is_empty else False
    return mask


# -- what the customers look like ---------------------------------------------------------
@dataclass
class Profile:
    """The categories of the chosen accounts (weight 0..1) and where they are."""

    weights: dict[str, float]
    anchors: list[tuple[float, float]]  # lon, lat
    accounts: int
    counts: dict[str, int] = field(default_factory=dict)


def profile(user: User, segment_id: int | None = None) -> Profile:
    """The customers' (or a segment's) categories and positions, in ``user``'s scope."""
    stmt = visible_accounts(user).where(Account.archived.is_(False))
    if segment_id is None:
        stmt = stmt.where(Account.stage == Stage.CUSTOMER)
    else:
        ids = segment_account_ids(segment_id, user)
        stmt = stmt.where(Account.id.in_(ids or [-1]))
    rows = db.session.execute(stmt.with_only_columns(Account.category, Account.lon,
                                                     Account.lat)).all()
    counts = Counter((c or "").strip().casefold() for c, _, _ in rows if c and c.strip())
    top = max(counts.values(), default=0)
    weights = {c: n / top for c, n in counts.items()}
    anchors = [(float(lon), float(lat)) for _, lon, lat in rows
               if lon is not None and lat is not None]
    return Profile(weights, anchors, len(rows), dict(counts.most_common()))


# -- a place as an import row -------------------------------------------------------------
def place_raw(index: PoiIndex, i: int) -> dict[str, str]:
    """A place as the import's row of text cells (see :func:`clean_place`)."""
    d = index.details[i]
    addr: dict[str, str] = d.get("addr", {})
    raw = {
        "name": d.get("name", ""),
        "name_reading": d.get("name:ja-Hira") or d.get("name:ja_kana") or "",
        "phone": d.get("phone", "").split(";")[0].strip(),
        "website": d.get("website", ""),
        "email": d.get("email", ""),
        "opening_hours": d.get("opening_hours", ""),
        "category": index.category_name(i).split("=", 1)[1],
        "external_id": index.ref(i),
        "lat": repr(float(index.lat[i])),
        "lon": repr(float(index.lon[i])),
        "stage": Stage.PROSPECT.value,
        "address": addr.get("full", ""),
        "street": addr.get("street") or addr.get("place", ""),
        "housenumber": addr.get("housenumber") or addr.get("block_number", ""),
        "postcode": addr.get("postcode", ""),
        "city": addr.get("city", ""),
        "district": addr.get("suburb") or addr.get("quarter") or addr.get("neighbourhood", ""),
        "region": addr.get("province") or addr.get("state", ""),
        "country": addr.get("country", ""),
    }
    return {k: v for k, v in raw.items() if v}


def clean_place(index: PoiIndex, i: int, number: int = 1
                ) -> tuple[dict[str, Any] | None, list[Reject]]:
    """The place as a cleaned import row, with what the account rules refused left out (and
    returned); ``None`` when its name or position is refused."""
    raw = place_raw(index, i)
    rejects: list[Reject] = []
    row = clean_row(dict(raw), number, rejects)
    if row is not None:
        return row, []
    if any(r.field in ("name", "lat", "lon", "external_id") for r in rejects):
        return None, rejects
    for r in rejects:
        raw.pop(r.field, None)
    again: list[Reject] = []
    row = clean_row(raw, number, again)
    return row, rejects + again


# -- look-alikes ----------------------------------------------------------------------------
def _known_refs(index: PoiIndex) -> npt.NDArray[np.bool_]:
    """Places whose OSM reference an account (or a source record) of the source already has."""
    known = np.zeros(len(index), dtype=bool)
    refs = set(db.session.scalars(select(Account.external_id).where(
        Account.source == SOURCE, Account.external_id.is_not(None))))
    refs.update(db.session.scalars(select(SourceRecord.external_id).where(
        SourceRecord.source == SOURCE, SourceRecord.external_id.is_not(None))))
    for ref in refs:
        i = index.find(ref)
        if i is not None:
            known[i] = True
    return known


def region_matcher(index: PoiIndex, mask: npt.NDArray[np.bool_]) -> tuple[Matcher, ImportResult]:
    """The import's matcher over every account, set up for the places of ``mask``."""
    result = ImportResult(status="dry", filename="OpenStreetMap", sha256="")
    lats = index.lat[mask] if mask.any() else index.lat
    # The matcher's metric grid is set up at the latitude of the rows it will see.
    ref = [(0, {"lat": float(np.mean(lats)) if len(lats) else 45.0})]
    return Matcher(ref, result, source=SOURCE, now=utcnow()), result


def match_existing(matcher: Matcher, result: ImportResult, number: int,
                   row: dict[str, Any]) -> Duplicate | None:
    """Take ``row`` as the import would; the duplicate it is (or looks like), or None."""
    inserts, reported = len(matcher.plan.inserts), len(result.duplicates)
    matcher.take(number, row)
    found = [d for d in result.duplicates[reported:] if d.outcome in _NOT_NEW]
    if found:
        return found[0]
    if len(matcher.plan.inserts) == inserts:
        return Duplicate(number, "external_id", "", row["name"], "repeat")
    return None


@dataclass
class Candidate:
    """A proposed place: the index position, its ranking and what it would become."""

    i: int
    ranked: Ranked
    row: dict[str, Any]
    left_out: list[Reject]


@dataclass
class Search:
    candidates: list[Candidate]
    profile: Profile
    in_area: int  # places in the area and scope
    fitting: int  # of those, of a category the customers have
    known: int  # of those, already accounts (external id or the duplicate rule)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The matcher makes a dict per account and the index holds one per place: the cyclic
    garbage collector would walk them all again and again (most of a query's time at 60,000
    places); nothing here makes reference cycles (the import does the same)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def look_alikes(user: User, body: Mapping[str, Any]) -> Search:
    """The best places not yet in the CRM, for a request body (area, segment, limit)."""
    with no_cycle_collection():
        return _look_alikes(user, body)


def _look_alikes(user: User, body: Mapping[str, Any]) -> Search:
    index = loaded_index()
    limit = int(_number(body, "limit", 1, MAX_RESULTS)) if body.get("limit") is not None \
        else 200
    segment = body.get("segment")
    if segment not in (None, "") and (isinstance(segment, bool) or not isinstance(segment, int)):
        raise ValidationError("segment", _("must be a segment id"))
    prof = profile(user, segment or None)
    mask = area_mask(index, parse_area(body, user), user)
    weights = category_weights(index, prof.weights)
    known_refs = _known_refs(index)
    fitting = mask & (weights > 0)
    out: list[Candidate] = []
    known = int((fitting & known_refs).sum())
    if not fitting.any():
        return Search(out, prof, int(mask.sum()), 0, known)
    ranked_places = rank(index, weights, mask=mask, anchors=prof.anchors, scale_m=SCALE_M,
                         exclude=known_refs)
    number = 0
    while len(out) < limit:
        # A batch of the best places left, matched against only the accounts that could be
        # them by the rule: within reach of the batch's places, or at one of their addresses.
        batch: list[tuple[int, Ranked, dict[str, Any], list[Reject]]] = []
        for ranked in ranked_places:
            number += 1
            row, left_out = clean_place(index, ranked.i, number)
            if row is not None:
                batch.append((number, ranked, row, left_out))
            if len(batch) >= 2 * limit:
                break
        if not batch:
            break
        matcher, result = _batch_matcher(index, [b[2] for b in batch])
        for c in out:  # what earlier batches proposed is seen by this one too
            matcher.take(0, dict(c.row))
        for n, ranked, row, left_out in batch:
            if match_existing(matcher, result, n, row) is not None:
                known += 1
                continue
            out.append(Candidate(ranked.i, ranked, row, left_out))
            if len(out) >= limit:
                break
    return Search(out, prof, int(mask.sum()), int(fitting.sum()), known)


def _batch_matcher(index: PoiIndex, rows: list[dict[str, Any]]) -> tuple[Matcher, ImportResult]:
    """The import's matcher set up with only the accounts the rule could match ``rows`` to:
    within 60 m of one of them (the rule reaches 50 m) or at one of their addresses. A
    search over a whole region then reads a few hundred accounts, not the company; adding
    runs the full matcher again before it writes."""
    from scipy.spatial import cKDTree

    lats = np.array([r["lat"] for r in rows])
    lons = np.array([r["lon"] for r in rows])
    pad = NEAR_PAD_M / 110_540.0
    kx = math.cos(math.radians(float(lats.mean())))
    near = db.session.execute(select(Account.id, Account.lat, Account.lon).where(
        Account.lat.between(float(lats.min()) - pad, float(lats.max()) + pad),
        Account.lon.between(float(lons.min()) - pad / kx, float(lons.max()) + pad / kx))).all()
    ids: list[int] = []
    if near:
        pts = np.array([(lon * kx * 111_320.0, lat * 110_540.0) for _, lat, lon in near])
        tree = cKDTree(pts)
        hits = tree.query_ball_point(np.column_stack((lons * kx * 111_320.0,
                                                      lats * 110_540.0)), r=60.0)
        ids = sorted({near[j][0] for hit in hits for j in hit})
    keys = sorted({r["address_key"] for r in rows if r.get("address_key")})
    result = ImportResult(status="dry", filename="OpenStreetMap", sha256="")
    ref = [(0, {"lat": float(lats.mean())})]
    where = or_(Account.id.in_(ids or [-1]), Account.address_key.in_(keys or [""]))
    return Matcher(ref, result, source=SOURCE, now=utcnow(), accounts=where), result


def candidate_json(index: PoiIndex, c: Candidate) -> dict[str, Any]:
    """A candidate for the page (names are user text: the page escapes them)."""
    d = index.details[c.i]
    row = c.row
    return {
        "ref": index.ref(c.i), "name": d.get("name", ""),
        "names": {k[5:]: d[k] for k in ("name:ko", "name:ja", "name:en") if k in d},
        "category": index.category_name(c.i), "address": row.get("address") or "",
        "hours": row.get("opening_hours") or "", "phone": row.get("phone") or "",
        "website": row.get("website") or "",
        "lat": float(index.lat[c.i]), "lon": float(index.lon[c.i]),
        "score": round(c.ranked.score, 4), "fit": round(c.ranked.fit, 3),
        "distance_m": None if c.ranked.distance_m is None else round(c.ranked.distance_m),
        "leftOut": [r.field for r in c.left_out],
    }
