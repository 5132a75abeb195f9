"""CRM maps: plain values in, ``folium.Map`` out (no request, no query).

Two maps: the small one on the Account 360 page (the pin and the check-in positions of
its visits) and a segment's accounts. Points travel as JSON in the page data block and
``static/js/points_map.js`` draws them, clustered in the browser (``leaflet.markercluster``),
not as one JS statement per marker, so a segment of thousands of accounts stays light.
Popups are built with DOM ``textContent``: names are user data and never become HTML.
Leaflet comes from the app's own static files (the map instance gets its own asset lists,
see ``geocrm.maps.build``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import folium

from geocrm.maps.build import MapAssets, Tiles, base_map, cluster_assets, publish_handles

DEFAULT_BOUNDS = ((60.15, 24.90), (60.20, 25.00))


@dataclass(frozen=True)
class MapPoint:
    """One marker: ``kind`` picks its style ("account", "checkin")."""

    lat: float
    lon: float
    label: str
    kind: str = "account"
    account_id: int | None = None


def _point_rows(points: Sequence[MapPoint]) -> list[list[object]]:
    """Compact rows ``[lat, lon, label, kind, account id]`` for ``points_map.js``."""
    return [[round(p.lat, 6), round(p.lon, 6), p.label, p.kind, p.account_id] for p in points]


def build_points_map(
    points: Sequence[MapPoint],
    *,
    assets: MapAssets,
    tiles: Tiles,
    account_url: str = "",
    cluster: bool = False,
) -> folium.Map:
    """A map fitted to ``points`` (or to central Helsinki when there are none).

    ``account_url`` has ``{id}`` where an account id goes (popups link there);
    ``cluster`` loads leaflet.markercluster for big point sets.
    """
    m = base_map(assets.leaflet_js, assets.leaflet_css, tiles,
                 **(cluster_assets(assets) if cluster else {}))
    if points:
        lats = [p.lat for p in points]
        lons = [p.lon for p in points]
        south, north = min(lats), max(lats)
        west, east = min(lons), max(lons)
        if north - south < 0.004 and east - west < 0.008:  # one point: a street-level view
            south, north, west, east = south - 0.002, north + 0.002, west - 0.004, east + 0.004
        m.fit_bounds([[south, west], [north, east]], padding=(20, 20))
    else:
        m.fit_bounds([list(DEFAULT_BOUNDS[0]), list(DEFAULT_BOUNDS[1])])
    # Drawn by static/js/points_map.js from the page data (render_parts(m).handles).
    publish_handles(m, points=_point_rows(points), accountUrl=account_url)
    return m
