"""The prospecting map: an empty page map with a drawing tool for the search area; plain
values in, ``folium.Map`` out, no queries. ``prospecting.js`` draws the candidates."""

from __future__ import annotations

from collections.abc import Sequence

import folium
from folium.plugins import Draw

from geocrm.maps.build import MapAssets, Tiles, base_map, publish_handles
from geocrm.maps.web import DrawAssets

DEFAULT_BOUNDS = ((60.15, 24.90), (60.20, 25.00))


def build_prospect_map(bounds: Sequence[tuple[float, float, float, float]], *,
                       assets: MapAssets, draw: DrawAssets, tiles: Tiles) -> folium.Map:
    """A map on ``bounds`` (west, south, east, north of the user's territories) with Leaflet.draw
    limited to one polygon or rectangle: the area to search."""
    m = base_map(assets.leaflet_js, assets.leaflet_css, tiles)
    if bounds:
        west = min(b[0] for b in bounds)
        south = min(b[1] for b in bounds)
        east = max(b[2] for b in bounds)
        north = max(b[3] for b in bounds)
        m.fit_bounds([[south, west], [north, east]])
    else:
        m.fit_bounds([list(DEFAULT_BOUNDS[0]), list(DEFAULT_BOUNDS[1])])
    group = folium.FeatureGroup(name="Area", control=False).add_to(m)
    tool = Draw(
        feature_group=group, position="topleft", show_geometry_on_click=False,
        draw_options={
            "polygon": {"allowIntersection": False, "showArea": False,
                        "shapeOptions": {"color": "#111827", "weight": 2}},
            "rectangle": {"showArea": False, "shapeOptions": {"color": "#111827", "weight": 2}},
            "polyline": False, "circle": False, "marker": False, "circlemarker": False,
        },
        edit_options={"edit": False},
    )
    tool.default_js = [("leaflet_draw_js", draw.js)]
    tool.default_css = [("leaflet_draw_css", draw.css)]
    tool.add_to(m)
    publish_handles(m, area=group.get_name())
    return m
