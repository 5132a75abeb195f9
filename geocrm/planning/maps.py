"""The route map: plain plan data in, ``folium.Map`` out (no request, no query).

One layer per rep and day: a polyline home (or where a day planned after the shift began
starts) → stops → home in the rep's colour (along the streets when the plan was made on a
region's roads, else straight between stops) and a
numbered marker per stop; the visits left out are grey markers. Leaflet comes from the
app's own static files (the map instance gets its own asset lists, as in
``geocrm.maps.build``), and every name put into a popup, tooltip or layer label is
HTML-escaped here, because Leaflet inserts those strings as HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import folium
from branca.element import MacroElement
from flask_babel import gettext as _
from jinja2 import Template

from geocrm.i18n import label
from geocrm.maps.build import MapAssets, Tiles, base_map, publish_handles

UNASSIGNED_COLOUR = "#6b7280"


@dataclass(frozen=True)
class MapStop:
    seq: int
    lat: float
    lon: float
    name: str
    times: str  # "09:12–09:42", already formatted
    pinned: bool = False
    status: str = "planned"


@dataclass(frozen=True)
class RouteLayer:
    key: str  # "plan-<id>", a stable id for the page's script and tests
    label: str  # rep name and day
    colour: str  # "#rrggbb", from the app's palette
    home: tuple[float, float]
    stops: Sequence[MapStop]
    start: tuple[float, float] | None = None  # where the day starts when not at home
    road_line: Sequence[tuple[float, float]] | None = None  # start → stops → home on the roads


@dataclass(frozen=True)
class LeftOut:
    lat: float
    lon: float
    name: str
    reason: str


def _stop_icon(seq: int, colour: str, pinned: bool, status: str) -> folium.DivIcon:
    classes = "route-stop" + (" route-stop-pinned" if pinned else "")
    classes += f" route-stop-{status}" if status in ("visited", "skipped") else ""
    return folium.DivIcon(
        html=f'<span class="{classes}" style="background:{colour}">{int(seq)}</span>',
        icon_size=(26, 26),
        icon_anchor=(13, 13),
        class_name="route-stop-icon",
    )


class _Bind(MacroElement):
    """Bind a popup and a tooltip to the parent layer, with the strings passed as JSON.

    Not ``folium.Popup``/``folium.Tooltip``: those paste their HTML into a JavaScript
    template literal (backticks), where a name containing `` ` `` or ``${...}`` would run as
    script even after HTML escaping, and the popup needs jQuery. The strings here are
    HTML-escaped by the caller (Leaflet inserts them as HTML) and JSON-encoded by ``tojson``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.popup|tojson }}, {maxWidth: 280});
        {% if this.tooltip %}
        {{ this._parent.get_name() }}.bindTooltip({{ this.tooltip|tojson }});
        {% endif %}
        {% endmacro %}
        """
    )

    def __init__(self, popup: str, tooltip: str = "") -> None:
        super().__init__()
        self._name = "Bind"
        self.popup = popup
        self.tooltip = tooltip


def build_route_map(
    routes: Sequence[RouteLayer],
    left_out: Sequence[LeftOut],
    *,
    assets: MapAssets,
    tiles: Tiles,
) -> folium.Map:
    """Routes (numbered stops, one colour and polyline per rep) and the visits left out."""
    m = base_map(assets.leaflet_js, assets.leaflet_css, tiles)
    points: list[tuple[float, float]] = []
    registry: list[tuple[str, str]] = []
    for route in routes:
        name = (f'<span class="route-swatch" style="background:{route.colour}"></span> '
                f"{html.escape(route.label)}")
        group = folium.FeatureGroup(name=name, show=True)
        line = [route.start or route.home] + [(s.lat, s.lon) for s in route.stops] + [route.home]
        if route.stops:
            # along the streets when the plan drove on a region's roads, else straight legs
            drawn = list(route.road_line) if route.road_line else line
            folium.PolyLine(drawn, color=route.colour, weight=4, opacity=0.8).add_to(group)
        home = folium.Marker(
            route.home,
            icon=folium.DivIcon(
                html=f'<span class="route-home" style="border-color:{route.colour}">⌂</span>',
                icon_size=(22, 22), icon_anchor=(11, 11), class_name="route-home-icon",
            ),
        ).add_to(group)
        _Bind(html.escape(_("%(name)s: home base", name=route.label))).add_to(home)
        for s in route.stops:
            popup = (
                f'<div class="route-popup"><strong>{int(s.seq)}. {html.escape(s.name)}</strong>'
                f"<br>{html.escape(s.times)}"
                f"{' · ' + html.escape(_('pinned')) if s.pinned else ''}"
                f"{' · ' + html.escape(label(s.status)) if s.status != 'planned' else ''}</div>"
            )
            marker = folium.Marker(
                (s.lat, s.lon), icon=_stop_icon(s.seq, route.colour, s.pinned, s.status)
            ).add_to(group)
            _Bind(popup, html.escape(f"{s.seq}. {s.name}")).add_to(marker)
        group.add_to(m)
        registry.append((route.key, group.get_name()))
        points.extend(line)
    if left_out:
        name = (f'<span class="route-swatch" style="background:{UNASSIGNED_COLOUR}"></span> '
                f"{html.escape(_('Not planned'))}")
        group = folium.FeatureGroup(name=name, show=True)
        for u in left_out:
            dot = folium.CircleMarker(
                (u.lat, u.lon), radius=7, color=UNASSIGNED_COLOUR, fill=True,
                fill_opacity=0.6, class_name="route-unassigned",
            ).add_to(group)
            _Bind(f'<div class="route-popup"><strong>{html.escape(u.name)}</strong><br>'
                  f"{html.escape(u.reason)}</div>", html.escape(u.name)).add_to(dot)
            points.append((u.lat, u.lon))
        group.add_to(m)
        registry.append(("unassigned", group.get_name()))
    if len(registry) > 1:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if points:
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))
    # Route key -> folium variable of its layer, for a page module (docs/frontend.md).
    publish_handles(m, layers=dict(registry))
    return m
