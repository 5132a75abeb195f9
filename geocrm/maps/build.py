"""Build the territory map as a ``folium.Map``: plain data in, map out.

No request, no query and no ``current_app`` here (geopandas ``explore`` style): the view
hands in territory layers, bounds, the tile settings and the URLs of the app's own copies
of Leaflet and Leaflet.markercluster. The accounts are *not* in the map: at 100,000 of them
one JS statement per marker is far too heavy, so ``territory_map.js`` loads them as data
and clusters them; this module only names the map and the territory layers for it
(:func:`leaflet_handles`, which the view passes on through the page data).

folium's CDN links live in class-level ``default_js``/``default_css`` lists shared by every
map in the process. We never mutate those: the map instance gets its own lists pointing at
the app's static files, so nothing else can inherit or leak a CDN URL.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from geocrm.maps.services import TerritoryLayer

UNASSIGNED_LABEL = "Unassigned accounts"
MAX_ZOOM = 19


@dataclass(frozen=True)
class MapAssets:
    """Where the browser fetches Leaflet and its plugins: the app's static URLs."""

    leaflet_js: str
    leaflet_css: str
    markercluster_js: str
    markercluster_css: str
    markercluster_default_css: str


@dataclass(frozen=True)
class Tiles:
    """The base layer: the vector basemap when ``pmtiles`` is set, else the raster ``url``;
    both empty means no base layer at all (tests, offline demos)."""

    url: str = ""
    attribution: str = ""
    #: URL of a PMTiles archive (vector, Protomaps schema) drawn by protomaps-leaflet
    pmtiles: str = ""
    #: protomaps-leaflet's script, served by this app
    pmtiles_js: str = ""
    #: the archive's last zoom; the map overzooms it up to MAX_ZOOM
    max_data_zoom: int = 15
    #: the language whose names label the map (``name:xx``, else the local ``name``)
    lang: str = "en"

    def vector_options(self) -> dict[str, Any]:
        """protomaps-leaflet's options: the light theme, labels in the page's language."""
        return {"url": self.pmtiles, "flavor": "light", "lang": self.lang,
                "attribution": self.attribution, "maxDataZoom": self.max_data_zoom,
                "maxZoom": MAX_ZOOM}


class _VectorBasemap(MacroElement):
    """The PMTiles basemap as a protomaps-leaflet layer (canvas, the browser's own fonts: no
    font or sprite server). Options are rendered with ``tojson``, safe inside the script."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = protomapsL.leafletLayer({{ this.options|tojson }})"
        ".addTo({{ this._parent.get_name() }});"
        "{% endmacro %}")

    def __init__(self, tiles: Tiles) -> None:
        super().__init__()
        self._name = "VectorBasemap"
        self.options = tiles.vector_options()


class _PageMap(folium.Map):
    """A ``folium.Map`` meant to live inside one of our pages rather than own the document.

    folium's own header makes the map the whole page (``html, body {height: 100%}``, a
    viewport that forbids zooming, global Leaflet switches); we replace that header entry
    with nothing and size the map from ``map.css`` instead.
    """

    def render(self, **kwargs: object) -> None:
        super().render(**kwargs)
        figure = self.get_root()
        assert isinstance(figure, Figure)
        # Same name as folium's entry, so add_child replaces it in place.
        figure.header.add_child(Element(""), name=self.get_name())


# Public name for other features' map builders (territory editor, previews).
PageMap = _PageMap


def base_map(leaflet_js: str, leaflet_css: str, tiles: Tiles, *,
             extra_js: Sequence[tuple[str, str]] = (),
             extra_css: Sequence[tuple[str, str]] = ()) -> _PageMap:
    """A page map with this app's Leaflet files (never folium's CDN) and the configured base
    layer: the vector basemap (protomaps-leaflet) or the raster tiles.

    Every map builder starts here (territory map, Account 360/CRM maps, planner, territory
    editor and previews), so none can drift to another asset or tile rule. The map itself
    gets ``maxZoom`` (folium's only reaches a tile layer; markercluster needs one even when
    there are no tiles).
    """
    m = _PageMap(location=None, tiles=None, control_scale=True)
    m.options["maxZoom"] = MAX_ZOOM
    m.default_js = [("leaflet", leaflet_js), *extra_js]
    m.default_css = [("leaflet_css", leaflet_css), *extra_css]
    if tiles.pmtiles:
        m.default_js.append(("protomaps_leaflet", tiles.pmtiles_js))
        _VectorBasemap(tiles).add_to(m)
    elif tiles.url:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution or " ", name="Map",
                         control=False, max_zoom=MAX_ZOOM).add_to(m)
    return m


def cluster_assets(assets: MapAssets) -> dict[str, list[tuple[str, str]]]:
    """``extra_js``/``extra_css`` for :func:`base_map` that load leaflet.markercluster."""
    return {"extra_js": [("markercluster_js", assets.markercluster_js)],
            "extra_css": [("markercluster_css", assets.markercluster_css),
                          ("markercluster_default_css", assets.markercluster_default_css)]}


class _Handles(Element):
    """What a page module needs to find and fill a map: folium's JS variable names of its
    objects, and any data its builder attaches (points to draw, URL patterns).

    folium names its variables at random for every render, so a module cannot know them;
    :func:`leaflet_handles` hands them to the view, which puts them into the page's data
    block (docs/frontend.md) and the module looks the objects up with ``foliumObject``.
    Renders nothing: no globals of our own on ``window``.
    """

    def __init__(self, names: dict[str, Any]) -> None:
        super().__init__()
        self._name = "Handles"
        self.names = names

    def render(self, **kwargs: Any) -> str:
        return ""


def publish_handles(m: folium.Map, **names: Any) -> None:
    """Record ``names`` (folium variables of ``m``'s layers, data) for :func:`leaflet_handles`."""
    _Handles(names).add_to(m)


def leaflet_handles(m: folium.Map) -> dict[str, Any]:
    """``{"map": <variable of m>, **names}`` as its builder published them, for the page data."""
    found: dict[str, Any] = {"map": m.get_name()}
    for child in m._children.values():  # folium's own child registry (add_child/add_to)
        if isinstance(child, _Handles):
            found.update(child.names)
    return found


def _label(name: str, colour: str) -> str:
    """A layer-control label: a colour swatch and the escaped name.

    Leaflet puts overlay names into the control with ``innerHTML``, so the territory name
    must be HTML-escaped here; the colour was checked to be ``#rrggbb`` by the service.
    """
    return f'<span class="territory-swatch" style="background:{colour}"></span> {html.escape(name)}'


def build_territory_map(
    layers: Sequence[TerritoryLayer],
    bounds: tuple[tuple[float, float], tuple[float, float]],
    *,
    assets: MapAssets,
    tiles: Tiles,
    show_unassigned_toggle: bool = True,
) -> folium.Map:
    """The territory map: coloured polygons, one toggle per territory, no markers.

    Parameters
    ----------
    layers
        Territories to draw, in legend order.
    bounds
        ``((south, west), (north, east))`` the map opens on.
    assets
        The app's URLs for Leaflet and Leaflet.markercluster (never a CDN).
    tiles
        The configured tile layer; empty URL → none.
    show_unassigned_toggle
        Add an (empty) overlay whose toggle shows/hides the accounts outside every territory.
    """
    m = base_map(assets.leaflet_js, assets.leaflet_css, tiles, **cluster_assets(assets))
    registry: list[tuple[str, str]] = []
    for layer in layers:
        group = folium.FeatureGroup(name=_label(layer.name, layer.color), show=True)
        style = {"color": layer.color, "weight": 2, "fillColor": layer.color, "fillOpacity": 0.15}
        folium.GeoJson(
            {
                "type": "Feature",
                "geometry": layer.geojson,
                "properties": {"territory_id": layer.id},
            },
            style_function=lambda _feature, style=style: style,
            highlight_function=None,
            embed=True,
        ).add_to(group)
        group.add_to(m)
        registry.append((str(layer.id), group.get_name()))
    if show_unassigned_toggle:
        unassigned = folium.FeatureGroup(
            name=_label(UNASSIGNED_LABEL, "#6b7280"), show=True
        ).add_to(m)
        registry.append(("unassigned", unassigned.get_name()))
    if layers or show_unassigned_toggle:
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    m.fit_bounds([list(bounds[0]), list(bounds[1])])
    # territory id (or "unassigned") -> the folium variable of its layer, and where each
    # territory's name goes (map_labels.js draws it as text inside the territory's layer)
    publish_handles(m, layers=dict(registry), labels=territory_labels(layers))
    return m


def territory_labels(layers: Sequence[TerritoryLayer]) -> list[dict[str, Any]]:
    """``{key, name, lat, lon}`` per territory with an interior point, for ``map_labels.js``
    (plain data: the name is put into the page as text, never as HTML)."""
    return [{"key": str(layer.id), "name": layer.name, "lat": round(layer.label_at[0], 6),
             "lon": round(layer.label_at[1], 6)}
            for layer in layers if layer.label_at is not None]


@dataclass(frozen=True)
class RenderedMap:
    """The parts of a rendered map, to place into our own template.

    ``handles`` is :func:`leaflet_handles`: what the page's module needs to find and fill
    the map; templates pass it on in the page data block (docs/frontend.md).
    """

    header: str
    html: str
    script: str
    handles: dict[str, Any] = field(default_factory=dict)


def render_parts(m: folium.Map) -> RenderedMap:
    """Render ``m`` and split it into header (asset links), body html, script and handles."""
    root = m.get_root()
    root.render()
    return RenderedMap(
        header=root.header.render(),
        html=root.html.render(),
        script=root.script.render(),
        handles=leaflet_handles(m),
    )
