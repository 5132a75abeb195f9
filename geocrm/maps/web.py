"""What every page with a map needs from the running app: the locally served Leaflet files and
the configured tiles. One place, so no page can drift to another asset path or tile rule.

The territory map, the Account 360 and CRM maps, the planner, the territory editor and the
field app's offline shell all take their Leaflet URLs and their tile settings from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _

from geocrm.config import OSM_ATTRIBUTION
from geocrm.i18n import current_locale
from geocrm.maps.build import MapAssets, Tiles
from geocrm.models import User
from geocrm.region.basemap import (
    archive_max_zoom,
    basemap_file,
    basemap_version,
    offline_basemap,
)

#: Leaflet's files under ``static/vendor`` (installed from npm by ``make assets``).
LEAFLET_JS = "leaflet/leaflet.js"
LEAFLET_CSS = "leaflet/leaflet.css"
#: The marker images Leaflet's default icon loads (the offline shell must cache them).
LEAFLET_IMAGES = ("leaflet/images/marker-icon.png", "leaflet/images/marker-icon-2x.png",
                  "leaflet/images/marker-shadow.png")
MARKERCLUSTER = ("leaflet.markercluster/leaflet.markercluster.js",
                 "leaflet.markercluster/MarkerCluster.css",
                 "leaflet.markercluster/MarkerCluster.Default.css")
DRAW = ("leaflet-draw/leaflet.draw.js", "leaflet-draw/leaflet.draw.css")
#: protomaps-leaflet: draws the PMTiles vector basemap on a canvas
PROTOMAPS_JS = "protomaps-leaflet/protomaps-leaflet.js"


@dataclass(frozen=True)
class DrawAssets:
    """Leaflet.draw's script and style, for the territory editor."""

    js: str
    css: str


def vendor_path(path: str) -> str:
    """The ``static`` filename of a vendored file (for lists the service worker caches)."""
    return f"vendor/{path}"


def vendor_url(path: str) -> str:
    """URL of a file the app serves from ``static/vendor`` (installed from npm, never a CDN)."""
    return url_for("static", filename=vendor_path(path))


def local_assets() -> MapAssets:
    """Leaflet and markercluster, served by this app."""
    cluster_js, cluster_css, cluster_default_css = MARKERCLUSTER
    return MapAssets(
        leaflet_js=vendor_url(LEAFLET_JS),
        leaflet_css=vendor_url(LEAFLET_CSS),
        markercluster_js=vendor_url(cluster_js),
        markercluster_css=vendor_url(cluster_css),
        markercluster_default_css=vendor_url(cluster_default_css),
    )


def draw_assets() -> DrawAssets:
    """Leaflet.draw, served by this app."""
    return DrawAssets(js=vendor_url(DRAW[0]), css=vendor_url(DRAW[1]))


def leaflet_files() -> list[str]:
    """``static`` filenames of Leaflet and its images: what an offline page must cache."""
    return [vendor_path(p) for p in (LEAFLET_JS, LEAFLET_CSS, *LEAFLET_IMAGES)]


def configured_tiles() -> Tiles:
    """The base layer of every map: the vector basemap when there is one
    (:func:`geocrm.region.basemap.basemap_file` decides), else ``GEOCRM_TILE_URL`` with its
    attribution; an empty URL means no tile layer at all.

    The archive's URL carries its version, so a newer region is a new URL for the browser.
    """
    archive = basemap_file()
    if archive is not None:
        return Tiles(
            attribution=OSM_ATTRIBUTION,
            pmtiles=url_for("region.basemap", v=basemap_version(archive)),
            pmtiles_js=vendor_url(PROTOMAPS_JS),
            max_data_zoom=archive_max_zoom(archive),
            lang=current_locale(),
        )
    return Tiles(
        current_app.config.get("GEOCRM_TILE_URL") or "",
        current_app.config.get("GEOCRM_TILE_ATTRIBUTION") or "",
    )


def field_basemap(user: User) -> dict[str, Any] | None:
    """protomaps-leaflet's options for the field app: the part of the vector basemap kept
    offline for ``user`` (:func:`geocrm.region.basemap.offline_basemap`), or None (raster)."""
    found = offline_basemap(user)
    if found is None:
        return None
    path = found[0]
    return {**configured_tiles().vector_options(),
            "url": url_for("region.offline", v=basemap_version(path)),
            "maxDataZoom": archive_max_zoom(path)}


#: The navigation apps a rep can hand a route to, in the order offered with no preference.
NAV_APPS: tuple[str, ...] = ("google", "apple", "waze", "naver", "kakao")


def nav_app_names() -> dict[str, str]:
    """Each navigation app's name as the reader knows it (네이버 지도, カカオマップ)."""
    return {"google": "Google Maps", "apple": "Apple Maps", "waze": "Waze",
            "naver": str(_("Naver Map")), "kakao": str(_("Kakao Map"))}


def default_nav_app(locale: str) -> str:
    """The app a rep's links open first when they have chosen none: Naver in Korean (Google
    has no driving directions in Korea), Google elsewhere."""
    return "naver" if locale.replace("-", "_").split("_")[0] == "ko" else "google"


def nav_app_for(user: User, locale: str) -> str:
    """The app a person's route links open first: their saved choice, else the language's."""
    chosen = getattr(user, "nav_app", None)
    return chosen if chosen in NAV_APPS else default_nav_app(locale)


def naver_appname() -> str:
    """The ``appname`` every Naver Map link must carry: ``GEOCRM_NAVER_APPNAME`` (the
    registered app id), else this site's address, as Naver asks of a web page."""
    configured = str(current_app.config.get("GEOCRM_NAVER_APPNAME") or "")
    return configured or url_for("main.index", _external=True).rstrip("/")
