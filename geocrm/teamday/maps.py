"""The manager's day map: an empty page map fitted to the day's stops (plain values in, map
out, no query); ``team_day.js`` draws the stops and visits from the page's JSON and redraws
them on every refresh."""

from __future__ import annotations

from collections.abc import Sequence

import folium

from geocrm.maps.build import MapAssets, Tiles, base_map, publish_handles

DEFAULT_BOUNDS = ((60.15, 24.90), (60.20, 25.00))


def build_day_map(points: Sequence[tuple[float, float]], *, assets: MapAssets,
                  tiles: Tiles) -> folium.Map:
    """A map opened on ``points`` (the day's stops), or on the default area without any."""
    m = base_map(assets.leaflet_js, assets.leaflet_css, tiles)
    if points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        south, north, west, east = min(lats), max(lats), min(lons), max(lons)
        if north - south < 0.004 and east - west < 0.008:
            south, north, west, east = south - 0.002, north + 0.002, west - 0.004, east + 0.004
        m.fit_bounds([[south, west], [north, east]], padding=(20, 20))
    else:
        m.fit_bounds([list(DEFAULT_BOUNDS[0]), list(DEFAULT_BOUNDS[1])])
    publish_handles(m)
    return m
