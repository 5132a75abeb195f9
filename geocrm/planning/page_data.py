"""The plan result page's map as data: one JSON object the page's module draws
(``geocrm/planning/static/plan_page.js``), instead of folium's generated script.

For 6 reps x 20 stops folium wrote ~240 KB of JavaScript (one statement block per marker,
every road point as a float pair) that the browser had to parse before the page could be
used. The same map as data is a few tens of KB: coordinates are integers of 1e-5 degrees
(about a metre), road lines as encoded polylines; every text is plain text (names are put into the
page with ``textContent``) and already in the reader's language.

The shape is versioned (``v``) and only ever grows: other parts of the plan page (route
locks, edits) may add keys, and readers ignore keys they do not know.

``{"v": 1, "scale": 100000,
   "plans": [{"id", "key": "plan-<id>", "repId", "label", "colour", "home": [lat, lon],
              "start": [lat, lon] | null, "homeText",
              "stops": [{"id", "seq", "name", "lat", "lon", "times", "drive",
                         "pinned"?, "status"?, "statusText"?}],
              "legs": [{"s", "m", "text", "line": encoded polyline}] | null}],
   "leftOut": [{"name", "lat", "lon", "reason"}],
   "text": {"notPlanned", "pinned", "roads", "straight"},
   "attribution": "Road data (c) OpenStreetMap contributors, ODbL." | null}``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from geocrm.i18n import label, local_date
from geocrm.maps.build import MapAssets, RenderedMap, Tiles, base_map, render_parts
from geocrm.planning.base import drive_text, hhmm
from geocrm.planning.maps import LeftOut
from geocrm.planning.read import PlanView

SCALE = 100_000
VERSION = 1


def stored_legs(params: dict[str, Any] | None, order: Sequence[int]) -> list[dict[str, Any]] | None:
    """The plan's legs along the roads (start -> stops -> home) while its stops are still in
    the order they were drawn for; None after an edit or re-plan, or for straight-line plans."""
    p = params or {}
    legs = p.get("legs")
    if not legs or p.get("legs_for") != list(order) or len(legs) != len(order) + 1:
        return None
    return list(legs)


def _chunks(value: int) -> str:
    """One signed integer in the encoded polyline alphabet (5-bit groups + 63, low first)."""
    value = ~(value << 1) if value < 0 else value << 1
    out = []
    while value >= 0x20:
        out.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    out.append(chr(value + 63))
    return "".join(out)


def encode_line(line: Sequence[Sequence[float]]) -> str:
    """``[[lat, lon], ...]`` as an encoded polyline at 1e-5 degrees (the widely used format
    of Google's and OSRM's route geometries): each point is the step from the one before,
    so a street's points cost 2-4 characters instead of two JSON floats."""
    out: list[str] = []
    last_lat = last_lon = 0
    for point in line:
        lat, lon = round(float(point[0]) * SCALE), round(float(point[1]) * SCALE)
        out += [_chunks(lat - last_lat), _chunks(lon - last_lon)]
        last_lat, last_lon = lat, lon
    return "".join(out)


def decode_line(text: str) -> list[list[float]]:
    """The points of :func:`encode_line` (what ``plan_page.js`` does in the browser)."""
    values: list[int] = []
    shift = result = 0
    for ch in text:
        byte = ord(ch) - 63
        result |= (byte & 0x1F) << shift
        shift += 5
        if byte < 0x20:
            values.append(~(result >> 1) if result & 1 else result >> 1)
            shift = result = 0
    out: list[list[float]] = []
    lat = lon = 0
    for i in range(0, len(values) - 1, 2):
        lat, lon = lat + values[i], lon + values[i + 1]
        out.append([round(lat / SCALE, 5), round(lon / SCALE, 5)])
    return out


def _point(lat: float, lon: float) -> list[float]:
    return [round(lat, 6), round(lon, 6)]


def _stop(s: Any) -> dict[str, Any]:
    """A stop for the map; ``pinned`` and ``status`` only when they are not the default."""
    out: dict[str, Any] = {"id": s.id, "seq": s.seq, "name": s.name, "lat": round(s.lat, 6),
                           "lon": round(s.lon, 6),
                           "times": f"{hhmm(s.start)}–{hhmm(s.departure)}", "drive": s.drive}
    if s.pinned:
        out["pinned"] = True
    if s.status != "planned":
        out["status"], out["statusText"] = s.status, label(s.status)
    return out


def plan_map_data(plans: Sequence[PlanView], params: dict[int, dict[str, Any]],
                  left_out: Sequence[LeftOut]) -> dict[str, Any]:
    """The map of a run (or of one plan): routes, stops, homes, visits left out.

    ``params`` is each plan's stored ``RoutePlan.params`` by plan id (where its legs are).
    """
    out_plans = []
    any_roads = False
    for p in plans:
        legs = stored_legs(params.get(p.id), [s.account_id for s in p.stops])
        any_roads = any_roads or bool(legs)
        out_plans.append({
            "id": p.id, "key": f"plan-{p.id}", "repId": p.rep_id,
            "label": f"{p.rep_name} · {local_date(p.day)}", "day": p.day.isoformat(),
            "colour": p.colour,
            "home": _point(*p.home),
            "start": _point(*p.origin) if p.origin else None,
            "homeText": _("%(name)s: home base", name=p.rep_name),
            "stops": [_stop(s) for s in p.stops],
            "legs": [{"s": int(leg.get("s") or 0), "m": int(leg.get("m") or 0),
                      "text": drive_text(int(leg.get("s") or 0), float(leg.get("m") or 0)),
                      "line": encode_line(leg.get("line") or [])}
                     for leg in legs] if legs else None,
        })
    return {
        "v": VERSION,
        "scale": SCALE,
        "plans": out_plans,
        "leftOut": [{"name": u.name, "lat": round(u.lat, 6), "lon": round(u.lon, 6),
                     "reason": u.reason} for u in left_out],
        "text": {"notPlanned": _("Not planned"), "pinned": _("pinned"),
                 "roads": _("along the roads"), "straight": _("straight line between stops")},
        "attribution": _("Road data © OpenStreetMap contributors, ODbL.") if any_roads else None,
    }


def route_frame(plans: Sequence[PlanView], left_out: Sequence[LeftOut], *, assets: MapAssets,
                tiles: Tiles) -> RenderedMap:
    """The page's map without routes: Leaflet, the configured base layer, opened on every
    home, stop and left-out visit; ``plan_page.js`` draws the routes from
    :func:`plan_map_data` (the handles name the map for it)."""
    m = base_map(assets.leaflet_js, assets.leaflet_css, tiles)
    points = [p.origin or p.home for p in plans] + [p.home for p in plans]
    points += [(s.lat, s.lon) for p in plans for s in p.stops]
    points += [(u.lat, u.lon) for u in left_out]
    if points:
        lats = [pt[0] for pt in points]
        lons = [pt[1] for pt in points]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))
    return render_parts(m)


def stop_edit_data(plans: Sequence[PlanView],
                   movable: dict[int, list[tuple[int, str]]]) -> dict[str, Any]:
    """What ``plan_edits.js`` needs to build each stop's move / pin / move-to-rep controls on
    a draft run page, instead of 120 copies of the same three forms in the HTML:

    ``{"stops": {id: {"name", "first", "last", "pinned", "others": [[repId, repName]]}},
       "lockPlaceholder": {"id", "seq", "name"} (see :data:`LOCK_PLACEHOLDER`),
       "urls": {"move", "pin", "reassign"} (with ``{id}``),
       "text": {...} (translated, ``%(name)s`` filled in by the page)}``
    """
    stops: dict[str, Any] = {}
    for p in plans:
        for i, s in enumerate(p.stops):
            entry: dict[str, Any] = {"name": s.name}  # the rest only when not false / empty
            for key, value in (("first", i == 0), ("last", i == len(p.stops) - 1),
                               ("pinned", s.pinned),
                               ("others", [[rid, name] for rid, name in movable.get(s.id, [])])):
                if value:
                    entry[key] = value
            stops[str(s.id)] = entry
    return {
        "stops": stops,
        "lockPlaceholder": LOCK_PLACEHOLDER,
        "urls": {"move": url_for("planning.move_stop", stop_id=0).replace("/0/", "/{id}/"),
                 "pin": url_for("planning.pin_stop", stop_id=0).replace("/0/", "/{id}/"),
                 "reassign": url_for("planning.reassign_stop", stop_id=0)
                 .replace("/0/", "/{id}/")},
        # msgids as the templates had them, left with their %(name)s for the page to fill
        "text": {"moveUp": _("Move %(name)s up", name="%(name)s"),
                 "moveDown": _("Move %(name)s down", name="%(name)s"),
                 "pin": _("Pin %(name)s", name="%(name)s"),
                 "unpin": _("Unpin %(name)s", name="%(name)s"),
                 "pinButton": _("Pin"), "unpinButton": _("Unpin"),
                 "moveTo": _("Move %(name)s to", name="%(name)s"), "move": _("Move")},
    }


#: What a plan card's lock-form template is rendered with (``templates/planning/run.html``):
#: values no real stop has, which ``plan_edits.js`` replaces with each stop's own.
LOCK_PLACEHOLDER = {"id": 2_147_480_001, "seq": 98_765_432_101, "name": "zzStopNamezz"}


def lock_placeholder() -> Any:
    """The stand-in stop the per-plan lock-form template is rendered for."""
    from types import SimpleNamespace

    return SimpleNamespace(**LOCK_PLACEHOLDER)
