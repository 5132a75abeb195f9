"""The territories library on tiny named layouts and on the real shared data."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from territories import (
    CRSError,
    GeometryError,
    TerritoryError,
    WorkloadModel,
    assign,
    assign_report,
    balance,
    diagnose,
    polsby_popper,
    read_territories,
    rebalance,
    repair,
    workload,
    write_territories,
)
from tests.shared_data import shared_data

DATA = shared_data("geo")
M = "EPSG:3067"  # metres, so areas in tests are easy to check


def frame(geoms, crs=M, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


def points(xy, crs=M):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


@pytest.fixture
def two_squares():
    """West [0,10]x[0,10] and East [10,20]x[0,10], sharing the border x=10."""
    return frame([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)],
                 name=["West", "East"]).set_index(pd.Index([101, 202]))


# -- assign ------------------------------------------------------------------------------
def test_assign_returns_labels_aligned_with_points(two_squares):
    """Each point gets its territory's index label; points outside get NA."""
    pts = points([(5, 5), (15, 5), (50, 50)])
    pts.index = ["a", "b", "c"]
    got = assign(pts, two_squares)
    assert list(got.index) == ["a", "b", "c"]
    assert got["a"] == 101 and got["b"] == 202 and pd.isna(got["c"])


def test_point_on_shared_border_is_deterministic(two_squares):
    """A point on the shared border goes to one territory, whatever the row order."""
    pts = points([(10, 5)])
    first = assign(pts, two_squares).iloc[0]
    again = assign(pts, two_squares.iloc[::-1]).iloc[0]
    assert first == again and first in (101, 202)
    report = assign_report(pts, two_squares)
    assert len(report.contested) == 1 and set(report.contested.iloc[0]["candidates"]) == {101, 202}


def test_holes_and_multipolygons():
    """A point in a hole is unassigned; both parts of a multipolygon count."""
    donut = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)],
                            holes=[[(4, 4), (6, 4), (6, 6), (4, 6)]])
    multi = shapely.MultiPolygon([shapely.box(20, 0, 22, 2), shapely.box(30, 0, 32, 2)])
    polys = frame([donut, multi])
    got = assign(points([(1, 1), (5, 5), (21, 1), (31, 1), (25, 1)]), polys)
    assert got.tolist()[0] == 0 and pd.isna(got.iloc[1])
    assert got.iloc[2] == 1 and got.iloc[3] == 1 and pd.isna(got.iloc[4])


def test_overlaps_resolved_by_priority_then_smaller_area():
    """Inside an overlap the higher priority wins; with equal priority the smaller one."""
    big, small = shapely.box(0, 0, 100, 100), shapely.box(10, 10, 20, 20)
    polys = frame([big, small], priority=[0, 0])
    assert assign(points([(15, 15)]), polys).iloc[0] == 1
    polys["priority"] = [5, 0]
    assert assign(points([(15, 15)]), polys).iloc[0] == 0


def test_crs_mismatch_and_unknown_options_are_refused(two_squares):
    """Different CRSs raise CRSError; an unknown keyword raises TerritoryError."""
    with pytest.raises(CRSError, match="mismatch"):
        assign(points([(1, 1)], crs="EPSG:4326"), two_squares)
    with pytest.raises(TerritoryError, match="unknown option"):
        assign(points([(1, 1)]), two_squares, how="left")


# -- read and repair ---------------------------------------------------------------------
def test_bowtie_is_repaired_and_reported():
    """A self-intersecting bow-tie becomes a valid multipolygon and the note names it."""
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    result = repair(frame([bowtie, shapely.LineString([(0, 0), (1, 1)])], name=["Bow", "Line"]),
                    name_column="name")
    assert len(result.frame) == 1 and result.frame.geometry.iloc[0].is_valid
    assert math.isclose(result.frame.geometry.iloc[0].area, 50.0)
    assert any("'Bow'" in n and "repaired" in n for n in result.notes)
    assert any("'Line'" in n and "dropped" in n for n in result.notes)


def test_geojson_round_trip_and_kml(tmp_path):
    """GeoJSON written and read back lands in EPSG:4326; a small KML file reads too."""
    f = frame([shapely.box(24.9, 60.1, 25.0, 60.2)], crs="EPSG:4326", name=["A"])
    write_territories(f, tmp_path / "t.geojson")
    back = read_territories(tmp_path / "t.geojson").frame
    assert back.crs.to_epsg() == 4326 and back.geometry.iloc[0].equals_exact(
        f.geometry.iloc[0], 1e-9)
    kml = tmp_path / "t.kml"
    kml.write_text(
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<Placemark><name>K</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        "24.9,60.1 25.0,60.1 25.0,60.2 24.9,60.2 24.9,60.1</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></Placemark></Document></kml>"
    )
    assert len(read_territories(kml).frame) == 1


def test_missing_crs_in_feet_is_refused(tmp_path):
    """A shapefile in projected feet without its .prj is refused, not read as degrees."""
    f = frame([shapely.box(1_340_000, 410_000, 1_350_000, 420_000)], crs=None, name=["Feet"])
    with pytest.warns(UserWarning, match="crs"):
        f.to_file(tmp_path / "feet.shp", engine="pyogrio")
    (tmp_path / "feet.prj").unlink(missing_ok=True)
    with pytest.raises(CRSError, match="not degrees"):
        read_territories(tmp_path / "feet.shp")
    with pytest.raises(CRSError, match="wrong"):
        read_territories(tmp_path / "feet.shp", assume_crs="EPSG:4326")
    with pytest.raises(GeometryError, match="no such file"):
        read_territories(tmp_path / "nope.geojson")


@pytest.mark.skipif(not (DATA / "pittsburgh_neighborhoods").exists(), reason="shared data absent")
def test_real_projected_neighbourhoods_with_an_invalid_polygon():
    """Pittsburgh's neighbourhoods in PA State Plane feet arrive in degrees, one repaired."""
    result = read_territories(DATA / "pittsburgh_neighborhoods" / "Neighborhood.shp")
    f = result.frame
    assert f.crs.to_epsg() == 4326 and len(f) == 91
    assert f.geometry.is_valid.all()
    minx, miny, maxx, maxy = f.total_bounds
    assert -80.2 < minx < maxx < -79.8 and 40.3 < miny < maxy < 40.6
    assert any("repaired" in n for n in result.notes)


@pytest.mark.skipif(not (DATA / "allegheny_municipalities").exists(), reason="shared data absent")
def test_real_snap_stores_match_a_plain_sjoin():
    """SNAP stores assigned to Allegheny municipalities: as many as geopandas.sjoin finds."""
    munis = read_territories(DATA / "allegheny_municipalities" / "Allegheny_Munis.json").frame
    stores = pd.read_csv(DATA / "pittsburgh_snap_stores" / "SNAP_Store_Locations.csv")
    pts = gpd.GeoDataFrame(stores, geometry=gpd.points_from_xy(stores.Longitude, stores.Latitude),
                           crs="EPSG:4326")
    got = assign(pts, munis)
    joined = gpd.sjoin(pts, munis, how="inner", predicate="intersects")
    assert int(got.notna().sum()) == joined.index.nunique()


@pytest.mark.skipif(not (DATA / "sf_food_trucks_neighborhoods").exists(),
                    reason="shared data absent")
def test_real_food_trucks_at_zero_zero_are_unassigned():
    """The 33 permits at 0/0 fall in no California neighbourhood."""
    hoods = read_territories(DATA / "sf_food_trucks_neighborhoods" / "ZillowNeighborhoods-CA.shp")
    trucks = pd.read_csv(DATA / "sf_food_trucks_neighborhoods" / "Mobile_Food_Facility_Permit.csv")
    pts = gpd.GeoDataFrame(trucks, geometry=gpd.points_from_xy(trucks.Longitude, trucks.Latitude),
                           crs="EPSG:4326")
    report = assign_report(pts, hoods.frame)
    zero = (trucks.Latitude == 0) & (trucks.Longitude == 0)
    assert zero.sum() == 33
    assert set(trucks.index[zero]) <= set(report.unassigned)


# -- diagnose ----------------------------------------------------------------------------
def test_overlaps_gaps_parts_and_compactness():
    """A hand-built layout: one 10x10 m² overlap with an account in it, one 100 m² gap."""
    a = shapely.box(0, 0, 60, 100)
    b = shapely.box(50, 0, 100, 100)  # overlaps a on x 50..60 → 1,000 m²
    c = shapely.MultiPolygon([shapely.box(0, 110, 10, 120), shapely.box(90, 110, 100, 120)])
    polys = frame([a, b, c])
    service = shapely.box(0, 0, 100, 100)
    acc = points([(55, 50), (5, 5)])
    d = diagnose(polys, service_area=shapely.box(0, 0, 100, 101), accounts=acc)
    assert len(d.overlaps) == 1 and math.isclose(d.overlaps.iloc[0]["area_m2"], 1000.0)
    assert d.overlaps.iloc[0]["accounts"] == 1
    assert math.isclose(d.gaps["area_m2"].sum(), 100.0, rel_tol=1e-6)
    assert d.non_contiguous == [2]
    square = polsby_popper(frame([shapely.box(0, 0, 1000, 1000)])).iloc[0]
    circle = polsby_popper(frame([shapely.Point(0, 0).buffer(1000, quad_segs=64)])).iloc[0]
    assert math.isclose(square, math.pi / 4, rel_tol=1e-6) and circle > 0.99
    del service


# -- workload and balance ----------------------------------------------------------------
def test_workload_formula_on_a_tiny_territory():
    """Two weekly 30-minute visits in a 1 km² square, home 1 km away: hand-computed hours."""
    square = frame([shapely.box(0, 0, 1000, 1000)])
    acc = points([(100, 100), (900, 900)])
    acc["cadence_days"] = [7, 7]
    acc["visit_minutes"] = [30, 30]
    homes = gpd.GeoSeries([shapely.Point(500, 1500)], crs=M)
    w = workload(square, acc, homes=homes, model=WorkloadModel(period_days=28)).iloc[0]
    assert w["visits"] == 8 and w["visit_hours"] == 4.0
    tour = 0.7124 * math.sqrt(8 * 1.0) * 1.3  # one day holds the 4 h of visits
    travel = (tour + 2 * 1.0 * 1.3) / 30
    assert math.isclose(w["travel_hours"], travel, rel_tol=1e-9)
    assert math.isclose(w["workload_hours"], 4.0 + travel, rel_tol=1e-9)
    with pytest.raises(TerritoryError, match="speed_kmh"):
        WorkloadModel(speed_kmh=0)


def _city(n=1200, seed=3):
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.normal([5000, 5000], [1500, 1500], size=(n // 2, 2)),
                    rng.uniform(0, 10_000, size=(n - n // 2, 2))]).clip(0, 10_000)
    acc = points(xy)
    acc["cadence_days"] = rng.choice([7, 14, 28], size=n)
    acc["visit_minutes"] = rng.choice([20, 30, 45], size=n)
    homes = gpd.GeoSeries(gpd.points_from_xy([2000, 8000, 2000, 8000],
                                             [2000, 2000, 8000, 8000]), crs=M)
    return acc, homes


def test_balance_gives_contiguous_compact_balanced_territories():
    """Four reps: four contiguous territories within 10 % of each other, reasonably compact."""
    acc, homes = _city()
    result = balance(shapely.box(0, 0, 10_000, 10_000), acc, homes, target=1.05)
    assert len(result.territories) == 4 and result.contiguous
    assert result.max_min <= 1.10
    assert result.territories["compactness"].min() > 0.3
    assert result.territories["accounts"].sum() == len(acc)


def test_rebalance_moves_few_units():
    """From an unbalanced split, rebalancing reaches the target and keeps most accounts home."""
    acc, homes = _city()
    first = balance(shapely.box(0, 0, 10_000, 10_000), acc, homes, target=1.05)
    units = first.units[["geometry"]].copy()
    current = first.units["territory"].copy()
    # Unbalance it: territory 0 swallows a strip of its neighbours' units.
    cx = units.geometry.centroid.x
    cy = units.geometry.centroid.y
    current[(cx < 5500) & (cy < 5500)] = 0
    result = rebalance(units, current, acc, homes, target=1.10)
    assert result.before_max_min > result.max_min and result.max_min <= 1.10
    assert 0 < result.moved_units < len(units) / 2
    assert result.moved_accounts < len(acc) / 2
