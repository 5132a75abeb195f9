"""CRM maps: plain values in, ``folium.Map`` out (no request, no query).

Two maps: the small one on the Account 360 page (the pin and the check-in positions of
its visits) and a segment's accounts. Points travel as JSON data inside one script and
are clustered in the browser (``leaflet.markercluster``), not as one JS statement per
marker, so a segment of thousands of accounts stays light. Popups are built with DOM
``textContent``: names are user data and never become HTML. Leaflet comes from the app's
own static files (the map instance gets its own asset lists, see ``geocrm.maps.build``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import folium
from branca.element import MacroElement
from jinja2 import Template

from geocrm.maps.build import MapAssets, Tiles, base_map, cluster_assets

DEFAULT_BOUNDS = ((60.15, 24.90), (60.20, 25.00))


@dataclass(frozen=True)
class MapPoint:
    """One marker: ``kind`` picks its style ("account", "checkin")."""

    lat: float
    lon: float
    label: str
    kind: str = "account"
    account_id: int | None = None


class _Points(MacroElement):
    """Publish the map as ``window.geocrmCrmMap`` and draw the points from JSON data."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this.map_name }};
          var data = {{ this.data|tojson }};
          var base = {{ this.account_url|tojson }};
          var group = (data.length > 50 && L.markerClusterGroup)
            ? L.markerClusterGroup({chunkedLoading: true}) : L.featureGroup();
          var styles = {
            account: {radius: 8, color: "#0b5cad", fillColor: "#0b5cad", fillOpacity: 0.8},
            checkin: {radius: 5, color: "#a61b1b", fillColor: "#fff", fillOpacity: 1}
          };
          data.forEach(function (p) {
            var m = L.circleMarker([p[0], p[1]], styles[p[3]] || styles.account);
            var box = document.createElement("div");
            if (p[4] !== null && base) {
              var a = document.createElement("a");
              a.href = base.replace("{id}", String(p[4]));
              a.textContent = p[2];
              box.appendChild(a);
            } else {
              box.textContent = p[2];
            }
            m.bindPopup(box);
            group.addLayer(m);
          });
          group.addTo(map);
          window.geocrmCrmMap = {map: map, points: group, count: data.length};
          document.documentElement.setAttribute("data-crm-map", "ready");
        })();
        {% endmacro %}
        """
    )

    def __init__(self, map_name: str, points: Sequence[MapPoint], account_url: str) -> None:
        super().__init__()
        self._name = "CrmPoints"
        self.map_name = map_name
        self.account_url = account_url
        self.data = [
            [round(p.lat, 6), round(p.lon, 6), p.label, p.kind, p.account_id] for p in points
        ]


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
    _Points(m.get_name(), points, account_url).add_to(m)
    return m
