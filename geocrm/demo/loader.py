"""Loading the demo company: users, territories, reps with homes on land, accounts from the
real places, their territory history and six weeks of activity, in one transaction.

Everything is generated from a fixed seed and dated relative to the day of the load (visits in
the last six weeks, tasks due around today), so the demo always looks fresh yet two loads on
the same day are identical.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, insert, select

from geocrm.auth.services import create_user
from geocrm.core.accounts import normalise_address, normalise_name
from geocrm.demo.areas import build_territories
from geocrm.demo.history import add_history, at
from geocrm.demo.places import Place, helsinki_extract, load_places
from geocrm.extensions import db
from geocrm.geocoding.engine import extract_geocoder
from geocrm.geocoding.services import fill_missing_addresses
from geocrm.models import Account, AssignmentHistory, Role, Stage, Tag, Territory, User
from geocrm.spatial import assign_points
from territories.geodesy import offset_m

DEMO_PASSWORD = "geocrm-demo"
SEED = 20_26
N_TERRITORIES = 7
MAX_ACCOUNTS = 500
VISIT_MINUTES = {"horeca": 30, "health": 25, "services": 30, "leisure": 40, "public": 30,
                 "retail": 20, "office": 45, "craft": 30}
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442", "#999999"]
REP_NAMES = ["Aino Virtanen", "Mikko Korhonen", "Laura Nieminen", "Juha Mäkinen",
             "Sanna Hämäläinen", "Teemu Laine"]


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
        result["addresses_from_pins"] = _addresses_from_pins()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def _addresses_from_pins() -> int:
    """Places mapped without ``addr:*`` tags (about one in five) get the address nearest their
    position from the bundled extract's address index: reverse geocoding, as for any account
    with a pin and no address."""
    geocoder = extract_geocoder(str(helsinki_extract()), "FI")
    return int(fill_missing_addresses(geocoder)["filled"])


def _load(places: tuple[Place, ...], today: date, rng: np.random.Generator) -> dict[str, Any]:
    admin = create_user("admin@demo.geocrm.local", "Demo Admin", DEMO_PASSWORD, Role.ADMIN)
    manager = create_user(
        "manager@demo.geocrm.local", "Riikka Koskinen", DEMO_PASSWORD, Role.MANAGER
    )
    planner = create_user(
        "planner@demo.geocrm.local", "Petri Heikkinen", DEMO_PASSWORD, Role.PLANNER
    )
    db.session.flush()
    territories = _territories(places, manager, rng)
    reps = _reps(territories, places, rng)
    accounts = _accounts(places, territories, rng)
    _add_tags(accounts)
    _assignment_history(accounts, territories, manager, today)
    counts = add_history(accounts, reps, today, rng)
    return {
        "logins": [(admin.email, "admin", "all"), (manager.email, "manager", "all territories"),
                   (planner.email, "planner", "all")]
        + [(r.email, "rep", ", ".join(t.name for t in r.territories)) for r in reps],
        "accounts": len(accounts), "territories": len(territories), **counts,
    }


def _territories(
    places: tuple[Place, ...], manager: User, rng: np.random.Generator
) -> list[Territory]:
    """The tiling of the places, each territory managed by ``manager``."""
    shapes = build_territories(places, N_TERRITORIES, rng)
    territories = []
    for (name, geom), colour in zip(shapes, COLOURS, strict=False):
        t = Territory(name=name, color=colour, manager_id=manager.id)
        t.set_geometry(geom)
        db.session.add(t)
        territories.append(t)
    db.session.flush()
    return territories


def _reps(
    territories: list[Territory], places: tuple[Place, ...], rng: np.random.Generator
) -> list[User]:
    """One rep per territory, living in it; the territories left over get a rota of two."""
    reps = []
    for i, name in enumerate(REP_NAMES):
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
    return reps


def _accounts(
    places: tuple[Place, ...], territories: list[Territory], rng: np.random.Generator
) -> list[Account]:
    """An account per place, in its territory and owned by its first rep, with a stage, a value
    and a visit cadence; big customers are tagged "key account" (the tags wait in
    ``custom_fields`` until :func:`_add_tags` makes them rows)."""
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
    return list(db.session.scalars(select(Account).order_by(Account.id)))


def _assignment_history(
    accounts: list[Account], territories: list[Territory], manager: User, today: date
) -> None:
    """Who owned what since when: every account has been in its territory since the company
    drew its map, eight weeks ago (the 360 page's territory history starts there)."""
    names = {t.id: t.name for t in territories}
    drawn = at(today - timedelta(weeks=8), 8 * 60)
    db.session.execute(insert(AssignmentHistory), [
        {"account_id": a.id, "territory_id": a.territory_id,
         "territory_name": names.get(a.territory_id), "since": drawn, "until": None,
         "changed_by_id": manager.id, "reason": "territories drawn"}
        for a in accounts if a.territory_id is not None])


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
        lat, lon = offset_m(lats[i], lons[i], float(rng.uniform(30, 120)),
                            float(rng.uniform(0, 2 * np.pi)))
        point = shapely.Point(lon, lat)
        if geom.contains(point):
            return point


def _add_tags(accounts: list[Account]) -> None:
    by_name: dict[str, Tag] = {}
    for a in accounts:
        for name in a.custom_fields.get("tags", []):
            if name not in by_name:
                by_name[name] = Tag(name=name)
                db.session.add(by_name[name])
            a.tags.append(by_name[name])
        a.custom_fields = {k: v for k, v in a.custom_fields.items() if k != "tags"}
    db.session.flush()


def delete_all_rows() -> None:
    """Delete every row (children first) without committing; the schema stays."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))


def clear_database() -> None:
    """Delete every row and commit."""
    delete_all_rows()
    db.session.commit()
