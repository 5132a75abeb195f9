"""The spatial repository answers the same on SQLite (bbox + shapely) and PostGIS (ST_*)."""

from __future__ import annotations

import shapely
from sqlalchemy import select

from geocrm.access import visible_accounts
from geocrm.extensions import db
from geocrm.models import Account
from geocrm.spatial import SpatialRepository, assign_points, haversine_m
from tests.factories import make_account, make_territory


def test_haversine_known_distance():
    """Helsinki cathedral to the railway station is about 550 m."""
    d = haversine_m(60.1704, 24.9522, 60.1719, 24.9414)
    assert 550 < d < 650


def test_accounts_near_is_sorted_and_exact(app):
    """Only accounts inside the radius come back, nearest first, with distances in metres."""
    a = make_account("A", 60.1700, 24.9500)
    b = make_account("B", 60.1710, 24.9500)  # ~111 m north
    c = make_account("C", 60.1790, 24.9500)  # ~1 km north
    make_account("No location", None, None)
    db.session.commit()
    near = SpatialRepository(db.session).accounts_near(60.1700, 24.9500, 500)
    assert [n.account_id for n in near] == [a.id, b.id]
    assert abs(near[1].distance_m - 111.2) < 1.0
    assert c.id not in [n.account_id for n in near]


def test_accounts_near_respects_scoping(app, world):
    """The radius query is added to a scoped base query: a rep never sees another territory."""
    base = visible_accounts(world.rep_west)
    near = SpatialRepository(db.session).accounts_near(60.17, 24.95, 20_000, base=base)
    ids = {n.account_id for n in near}
    assert ids == {a.id for a in world.west_accounts}


def test_accounts_within_polygon_with_hole_and_boundary(app):
    """Points in a hole are out; a point on the outer boundary is in (covers semantics)."""
    ring = shapely.Polygon(
        [(24.0, 60.0), (25.0, 60.0), (25.0, 61.0), (24.0, 61.0)],
        holes=[[(24.4, 60.4), (24.6, 60.4), (24.6, 60.6), (24.4, 60.6)]],
    )
    inside = make_account("inside", 60.2, 24.2)
    make_account("in hole", 60.5, 24.5)
    edge = make_account("on edge", 60.5, 25.0)
    make_account("outside", 60.5, 25.5)
    db.session.commit()
    ids = SpatialRepository(db.session).account_ids_within(ring)
    assert ids == sorted([inside.id, edge.id])


def test_accounts_within_multipolygon(app):
    """Both parts of a multipolygon count."""
    geom = shapely.MultiPolygon([shapely.box(24, 60, 24.1, 60.1), shapely.box(25, 60, 25.1, 60.1)])
    a = make_account("west part", 60.05, 24.05)
    b = make_account("east part", 60.05, 25.05)
    make_account("between", 60.05, 24.5)
    db.session.commit()
    assert SpatialRepository(db.session).account_ids_within(geom) == sorted([a.id, b.id])


def test_overlap_rule_priority_then_smaller_area(app):
    """Where territories overlap: higher priority wins, then the smaller one, then the lower id."""
    big = make_territory("Big", shapely.box(24, 60, 26, 62))
    small = make_territory("Small", shapely.box(24.5, 60.5, 25, 61))
    db.session.commit()
    repo = SpatialRepository(db.session)
    assert [t.name for t in repo.territories_at(60.7, 24.7)] == ["Small", "Big"]
    big.priority = 5
    db.session.commit()
    assert repo.territory_for(60.7, 24.7).id == big.id
    assert repo.territory_for(61.5, 25.5).id == big.id
    assert repo.territory_for(70, 30) is None
    assert repo.territory_for(None, None) is None
    del small


def test_shared_border_is_deterministic(app, world):
    """A point exactly on the West/East border belongs to one territory, the same every time."""
    repo = SpatialRepository(db.session)
    first = repo.territory_for(60.17, 24.95)
    assert first is not None
    assert all(repo.territory_for(60.17, 24.95).id == first.id for _ in range(3))
    # The vectorised assignment used by imports agrees with the query.
    ts = list(db.session.scalars(select(type(first))))
    assert assign_points([60.17], [24.95], ts) == [first.id]


def test_assign_points_matches_repository(app, world):
    """Vectorised assignment gives the same territory as the per-point repository query."""
    accounts = list(db.session.scalars(select(Account).order_by(Account.id)))
    from geocrm.models import Territory

    ts = list(db.session.scalars(select(Territory)))
    got = assign_points([a.lat for a in accounts], [a.lon for a in accounts], ts)
    repo = SpatialRepository(db.session)
    want = [(t.id if (t := repo.territory_for(a.lat, a.lon)) else None) for a in accounts]
    assert got == want
    assert assign_points([None], [None], ts) == [None]


def test_accounts_near_top_k_matches_brute_force(app):
    """Nearest-first with a limit equals a brute-force sort by great-circle distance (ties by
    id), with the phone's columns riding along, for small and large radii and limits."""
    import random

    rng = random.Random(7)
    accounts = [
        make_account(f"P{i}", rng.uniform(69.0, 70.5), rng.uniform(18.0, 30.0)) for i in range(300)
    ]
    db.session.commit()
    repo = SpatialRepository(db.session)
    for lat, lon, radius, limit in [
        (69.7, 24.0, 5_000, 3),
        (69.7, 24.0, 60_000, 10),
        (70.0, 20.0, 200_000, 25),
        (69.2, 29.0, 200_000, 500),
    ]:
        expected = sorted((haversine_m(lat, lon, a.lat, a.lon), a.id) for a in accounts)
        expected = [(d, i) for d, i in expected if d <= radius][:limit]
        near = repo.accounts_near(lat, lon, radius, limit=limit, columns=(Account.name,))
        assert [n.account_id for n in near] == [i for _, i in expected]
        assert all(abs(n.distance_m - d) < 0.5 for n, (d, _) in zip(near, expected, strict=True))
        assert all(
            n.row[0] == f"P{accounts.index(db.session.get(Account, n.account_id))}"
            for n in near[:3]
        )
