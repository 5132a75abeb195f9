"""The field app's pages: one app shell at ``/app/``, its manifest and its service worker.

The screens are drawn on the phone from the API (and from the worker's cache when
offline), so a reload without signal still shows the app, not a browser error page.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required

from geocrm.field.services import OUTCOMES
from geocrm.i18n import LOCALES, catalogue, catalogue_digest, current_locale
from geocrm.maps.web import (
    PROTOMAPS_JS,
    configured_tiles,
    field_basemap,
    leaflet_files,
    nav_app_for,
    nav_app_names,
    naver_appname,
    vendor_path,
)
from geocrm.security import tile_origin

bp = Blueprint("field", __name__)
THEME = "#0b5394"
ASSET_VERSION = "2"  # bump to make phones fetch a new app shell (2: ES modules)


def shell_assets() -> list[str]:
    """What the worker precaches: the shell, its ES modules and styles, icons and Leaflet.

    Every module the page or the worker imports must be listed, or the app cannot start
    offline (``tests/e2e/test_field_pwa.py`` reloads it without a network).
    """
    static = [
        "field/app.css",
        # The modules live in field/js/: a phone still on the v1 worker serves the v1 paths
        # (field/app.js, field/outbox.js) from its old cache, which would mix two versions.
        "field/js/app.js",
        "field/js/dom.js",
        "field/js/dropins.js",
        "field/js/format.js",
        "field/js/geo.js",
        "field/js/i18n.js",
        "field/js/legs.js",
        "field/js/outbox.js",
        "field/js/push.js",
        "field/js/replan.js",
        "field/js/sw.js",
        "js/config.js",
        "js/navapps.js",
        "field/icons/icon-192.png",
        "field/icons/icon-512.png",
        "field/icons/maskable-512.png",
        *leaflet_files(),
        vendor_path(PROTOMAPS_JS),
    ]
    return [url_for("field.shell"), url_for("field.manifest")] + [
        url_for("static", filename=f) for f in static
    ] + [url_for("field.messages", locale=loc) for loc in LOCALES]  # translated offline too


@bp.route("/app/")
@login_required
def shell() -> Any:
    """The field app (Today, Near me, Account, Check in/out, Log, Add account here)."""
    return render_template(
        "field/app.html",
        theme=THEME,
        outcomes=OUTCOMES,
        tile_url=configured_tiles().url,
        tile_attribution=configured_tiles().attribution,
        basemap=field_basemap(current_user),
        geofence_m=current_app.config.get("GEOCRM_GEOFENCE_METERS", 150),
        max_accuracy_m=current_app.config.get("GEOCRM_CHECKIN_MAX_ACCURACY_M", 100),
        nav_default=nav_app_for(current_user, current_locale()),
        nav_names=nav_app_names(),
        naver_appname=naver_appname(),
    )


@bp.route("/app/i18n/<locale>.json")
def messages(locale: str) -> Any:
    """The field app's strings in one language, from the same catalogues as the web pages.

    ``{"locale": "ko", "messages": {msgid: text or [plural forms]}}``; English is the source
    (empty messages: the app shows its msgids). Public (no user data), so the worker can
    precache every language with the shell and a rep who switches offline stays translated.
    """
    try:
        body = catalogue(locale)
    except KeyError:
        abort(404)
    response = jsonify({"locale": locale, "messages": body})
    response.add_etag()
    response.headers["Cache-Control"] = "no-cache"  # revalidate: a deploy may bring new words
    return response.make_conditional(request)


@bp.route("/app/manifest.webmanifest")
def manifest() -> Any:
    """The web app manifest: what makes the app installable."""
    icon = lambda name, size, purpose: {  # noqa: E731
        "src": url_for("static", filename=f"field/icons/{name}"),
        "sizes": f"{size}x{size}",
        "type": "image/png",
        "purpose": purpose,
    }
    body = {
        "name": "GeoCRM Field",
        "short_name": "GeoCRM",
        "description": "Today's route, accounts near you, visits and notes - offline too.",
        "id": url_for("field.shell"),
        "start_url": url_for("field.shell") + "#/today",
        "scope": url_for("field.shell"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": [
            icon("icon-192.png", 192, "any"),
            icon("icon-512.png", 512, "any"),
            icon("maskable-512.png", 512, "maskable"),
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/sw.js")
def service_worker() -> Any:
    """The service worker, served from the root so it may control ``/app/`` and the API."""
    response = current_app.make_response(
        render_template(
            "field/sw.js",
            worker_module=url_for("static", filename="field/js/sw.js"),
            worker_config={
                # The catalogues' digest: new words make a new worker and a fresh precache.
                "version": f"{ASSET_VERSION}-{current_app.config.get('GEOCRM_ASSET_VERSION', '')}"
                f"-{catalogue_digest()}",
                "shell": shell_assets(),
                "tileUrl": configured_tiles().url,
                # the rep's part of the vector basemap: kept whole, range requests answered
                "basemapPath": url_for("region.offline"),
                # tiles kept, least recently used evicted
                "tileCacheMax": int(current_app.config.get("GEOCRM_TILE_CACHE_MAX", 400)),
            },
        )
    )
    response.mimetype = "text/javascript"
    # The worker fetches tiles itself: its own policy must let it reach the tile server.
    tiles = tile_origin(configured_tiles().url)
    response.headers["Content-Security-Policy"] = (
        (f"default-src 'self'; connect-src 'self' {tiles}; img-src 'self' data: blob: {tiles}")
        .replace("  ", " ")
        .replace(" ;", ";")
    )
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/app/icon.png")
def icon() -> Any:
    """The 192 px icon at a stable address (apple-touch-icon)."""
    return send_from_directory(current_app.static_folder + "/field/icons", "icon-192.png")
