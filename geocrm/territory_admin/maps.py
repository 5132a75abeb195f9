"""The editor's and previews' folium maps: plain values in, ``folium.Map`` out, no queries.

The editor map carries no territory data: ``territory_editor.js`` loads it from the data
endpoint into the Draw plugin's editable group, so that it can reload after every change
without a page load. folium's Draw plugin points at a CDN by default; here each instance
gets its own ``default_js``/``default_css`` lists with the app's vendored Leaflet.draw
(never the class-level lists, which every map in the process shares).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
from folium.plugins import Draw
from shapely.geometry import shape

from geocrm.maps.build import PageMap, Tiles, base_map, publish_handles
from territories.labels import label_point


@dataclass(frozen=True)
class EditorAssets:
    """The app's URLs for Leaflet and Leaflet.draw (never a CDN)."""

    leaflet_js: str
    leaflet_css: str
    draw_js: str
    draw_css: str


def _base(bounds: tuple[tuple[float, float], tuple[float, float]], assets: EditorAssets,
          tiles: Tiles) -> PageMap:
    m = base_map(assets.leaflet_js, assets.leaflet_css, tiles)
    m.fit_bounds([list(bounds[0]), list(bounds[1])])
    return m


def build_editor_map(
    bounds: tuple[tuple[float, float], tuple[float, float]],
    *,
    assets: EditorAssets,
    tiles: Tiles,
    editable: bool,
) -> folium.Map:
    """An empty map with the Draw toolbar (when the user may edit) and an editable group.

    Drawing tools: polygon and rectangle (new territories, or a polygon cut), polyline
    (a split line). Self-intersecting rings are allowed while drawing on purpose: the
    server validates on save, repairs with ``make_valid`` and says what it did.
    """
    m = _base(bounds, assets, tiles)
    group = folium.FeatureGroup(name="Territories", control=False).add_to(m)
    if editable:
        draw = Draw(
            feature_group=group,
            position="topleft",
            show_geometry_on_click=False,
            draw_options={
                "polygon": {"allowIntersection": True, "showArea": False,
                            "shapeOptions": {"color": "#111827", "weight": 2}},
                "rectangle": {"showArea": False,
                              "shapeOptions": {"color": "#111827", "weight": 2}},
                "polyline": {"shapeOptions": {"color": "#b91c1c", "weight": 3}},
                "circle": False, "marker": False, "circlemarker": False,
            },
            edit_options={"poly": {"allowIntersection": True}},
        )
        draw.default_js = [("leaflet_draw_js", assets.draw_js)]
        draw.default_css = [("leaflet_draw_css", assets.draw_css)]
        draw.add_to(m)
    # The editable group, by its folium variable, for territory_editor.js (the page data).
    publish_handles(m, editable=group.get_name())
    return m


@dataclass(frozen=True)
class PreviewLayer:
    """Polygons to show on a preview map: a GeoJSON collection and a style."""

    name: str
    geojson: dict[str, Any]
    color: str
    dashed: bool = False
    fill_opacity: float = 0.2
    labels: bool = True  # each named feature's name inside it


def _add_labels(group: folium.FeatureGroup, geojson: dict[str, Any]) -> None:
    """Each named feature's name at a point well inside it (``territories.labels``), as a
    non-interactive text marker in the layer's group, so hiding the layer hides its names.
    The name is HTML-escaped (Leaflet inserts a divIcon's html as HTML; folium JSON-encodes
    it into the script)."""
    features = geojson.get("features", []) if geojson.get("type") == "FeatureCollection" \
        else [geojson]
    for feature in features:
        name = (feature.get("properties") or {}).get("name")
        geometry = feature.get("geometry")
        if not name or not geometry:
            continue
        try:
            at = label_point(shape(geometry))
        except (ValueError, TypeError, AttributeError):
            continue
        if at is None:
            continue
        folium.Marker(at, interactive=False, keyboard=False, icon=folium.DivIcon(
            html=f'<span class="territory-label-text">{html.escape(str(name))}</span>',
            icon_size=None, class_name="territory-label")).add_to(group)


def build_preview_map(
    layers: Sequence[PreviewLayer],
    bounds: tuple[tuple[float, float], tuple[float, float]],
    *,
    assets: EditorAssets,
    tiles: Tiles,
) -> folium.Map:
    """Read-only layers (import preview, balance before/after) with a layer switch.

    Feature colours come from each feature's ``color`` property when it has one (checked
    ``#rrggbb`` by the service); layer names are escaped for the layer control.
    """
    m = _base(bounds, assets, tiles)
    for layer in layers:
        base = {"color": layer.color, "weight": 2, "fillColor": layer.color,
                "fillOpacity": layer.fill_opacity}
        if layer.dashed:
            base["dashArray"] = "6 4"

        def style(feature: dict[str, Any], base: dict[str, Any] = base) -> dict[str, Any]:
            colour = feature.get("properties", {}).get("color")
            return {**base, "color": colour, "fillColor": colour} if colour else base

        group = folium.FeatureGroup(name=html.escape(layer.name), show=True)
        folium.GeoJson(layer.geojson, style_function=style, highlight_function=None,
                       embed=True).add_to(group)
        if layer.labels:
            _add_labels(group, layer.geojson)
        group.add_to(m)
    if layers:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m
