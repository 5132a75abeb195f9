"""The shared measures: great-circle distances, offsets, bounding boxes and ellipsoidal areas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import box

from territories.geodesy import (
    EARTH_RADIUS_M,
    area_m2,
    bbox_around,
    haversine_m,
    haversine_many_m,
    latlon_bounds,
    looks_like_degrees,
    offset_m,
)

DEGREE_M = EARTH_RADIUS_M * math.pi / 180  # 111 195 m on the mean sphere


def test_distances_by_hand() -> None:
    """A degree of latitude, a degree of longitude at 60° N (half), and zero."""
    assert haversine_m(0, 0, 1, 0) == pytest.approx(DEGREE_M, rel=1e-9)
    assert haversine_m(60, 24, 60, 25) == pytest.approx(DEGREE_M / 2, rel=2e-4)
    assert haversine_m(60.17, 24.94, 60.17, 24.94) == 0.0
    many = haversine_many_m(0, 0, np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert many == pytest.approx([DEGREE_M, DEGREE_M], rel=1e-9)


@pytest.mark.parametrize("bearing", [0.0, math.pi / 3, math.pi, 5.0])
@pytest.mark.parametrize(("lat", "lon"), [(60.17, 24.94), (37.5665, 126.978), (-33.9, 18.4),
                                          (0.0, 179.9999)])
def test_offset_is_the_inverse_of_the_distance(lat: float, lon: float, bearing: float) -> None:
    """Walking d metres from a point lands d metres away (wrapping the antimeridian)."""
    lat2, lon2 = offset_m(lat, lon, 4.0, bearing)
    assert haversine_m(lat, lon, lat2, lon2) == pytest.approx(4.0, abs=1e-6)
    assert -180.0 <= lon2 < 180.0
    far = offset_m(lat, lon, 25_000.0, bearing)
    assert haversine_m(lat, lon, *far) == pytest.approx(25_000.0, rel=1e-9)


def test_the_box_holds_the_circle() -> None:
    """Points on the circle lie inside the box, also far north."""
    for lat in (0.0, 60.17, 89.0):
        min_lon, min_lat, max_lon, max_lat = bbox_around(lat, 24.94, 5_000)
        for k in range(16):
            plat, plon = offset_m(lat, 24.94, 4_999.0, k * math.pi / 8)
            assert min_lat <= plat <= max_lat and min_lon <= plon <= max_lon


def test_area_on_the_ellipsoid() -> None:
    """0.01° × 0.01° at the equator is about 1113 m × 1106 m; nothing has no area."""
    assert area_m2(box(0, 0, 0.01, 0.01)) == pytest.approx(1113.2 * 1105.7, rel=2e-3)
    assert area_m2(None) == 0.0 and area_m2(box(0, 0, 0, 0)) == 0.0


def test_degrees_or_not() -> None:
    """Lon/lat bounds pass; State Plane feet or UTM metres read as degrees do not."""
    assert looks_like_degrees((24.9, 60.1, 25.0, 60.2))
    assert looks_like_degrees((-180, -90, 180, 90))
    assert not looks_like_degrees((1_950_000.0, 570_000.0, 1_990_000.0, 600_000.0))
    assert not looks_like_degrees((385_000.0, 6_670_000.0, 390_000.0, 6_680_000.0))


def test_leaflet_bounds_are_south_west_north_east() -> None:
    """Leaflet wants (lat, lon) corners; nothing to fit is None."""
    assert latlon_bounds([box(24.9, 60.1, 25.0, 60.2), box(25.1, 60.15, 25.2, 60.3)]) == (
        (60.1, 24.9), (60.3, 25.2))
    assert latlon_bounds([]) is None and latlon_bounds([None]) is None
