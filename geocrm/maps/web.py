"""What every page with a map needs from the running app: the locally served Leaflet files and
the configured tiles. One place, so no page can drift to another asset path or tile rule."""

from __future__ import annotations

from flask import current_app, url_for

from geocrm.maps.build import MapAssets, Tiles


def vendor_url(path: str) -> str:
    """URL of a file the app serves from ``static/vendor`` (installed from npm, never a CDN)."""
    return url_for("static", filename=f"vendor/{path}")


def local_assets() -> MapAssets:
    """Leaflet and markercluster, served by this app."""
    return MapAssets(
        leaflet_js=vendor_url("leaflet/leaflet.js"),
        leaflet_css=vendor_url("leaflet/leaflet.css"),
        markercluster_js=vendor_url("leaflet.markercluster/leaflet.markercluster.js"),
        markercluster_css=vendor_url("leaflet.markercluster/MarkerCluster.css"),
        markercluster_default_css=vendor_url("leaflet.markercluster/MarkerCluster.Default.css"),
    )


def configured_tiles() -> Tiles:
    """``GEOCRM_TILE_URL`` with its attribution; an empty URL means no tile layer at all."""
    return Tiles(
        current_app.config.get("GEOCRM_TILE_URL") or "",
        current_app.config.get("GEOCRM_TILE_ATTRIBUTION") or "",
    )
