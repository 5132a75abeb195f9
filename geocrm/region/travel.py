"""The one travel provider every plan drives on: ``GEOCRM_TRAVEL``.

* ``region`` — the loaded region's roads (:mod:`places`); the default when a region is loaded.
* ``osrm`` — an OSRM-compatible server the company runs (``GEOCRM_OSRM_URL``), for regions
  too large for one machine; it falls back to great-circle per request when unreachable, and
  the plan says so.
* ``valhalla`` — a Valhalla server the company runs (``GEOCRM_VALHALLA_URL``), the same way.
* ``straight`` — great-circle × circuity at the rep's speed; the default when nothing else is
  configured. Every plan made this way carries :data:`STRAIGHT_NOTE`.

Planning (:mod:`geocrm.planning`), re-planning, the week spread and plan edits all call
:func:`travel_provider`, so one setting decides them all.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import current_app
from shapely.geometry import LineString

import places
import routing
import territories
from geocrm.core.skills import CAR_KMH
from geocrm.errors import ValidationError
from geocrm.region.services import road_router

STRAIGHT_NOTE = ("straight-line estimate: distances are great-circle × {circuity} at the rep's "
                 "speed, not roads (load a region with 'flask region load' or set "
                 "GEOCRM_TRAVEL=osrm or valhalla for road times)")
MODES = ("region", "osrm", "valhalla", "straight")
#: the road servers a company can run, with the setting that holds each one's URL
SERVICES = {"osrm": "GEOCRM_OSRM_URL", "valhalla": "GEOCRM_VALHALLA_URL"}
#: each road server's name as people write it
SERVICE_NAMES = {"osrm": "OSRM", "valhalla": "Valhalla"}
LINE_TOLERANCE_DEG = 1e-5  # about a metre: below what a street map shows
log = logging.getLogger(__name__)
_factors: dict[tuple[int, float], float] = {}


@dataclass(frozen=True)
class StraightLine:
    """Great-circle × circuity, saying in every plan that it is an estimate."""

    circuity: float = 1.3
    reason: str = ""

    def matrices(self, locations: Sequence[routing.Location],
                 speed_kmh: float) -> routing.Matrices:
        result = routing.GreatCircle(self.circuity).matrices(locations, speed_kmh)
        note = STRAIGHT_NOTE.format(circuity=self.circuity)
        result.warnings.append(f"{note}; {self.reason}" if self.reason else note)
        return result


@dataclass(frozen=True)
class RegionRoads:
    """The loaded region's road graph as a :class:`routing.TravelProvider`."""

    router: places.RoadRouter

    def matrices(self, locations: Sequence[routing.Location],
                 speed_kmh: float) -> routing.Matrices:
        m = self.router.matrix([(p.lat, p.lon) for p in locations], fallback_kmh=speed_kmh)
        return routing.Matrices(_whole(m.metres), _whole(slower(m.seconds, m.metres, speed_kmh)),
                                list(m.warnings))

    def legs(self, points: Sequence[routing.Location], speed_kmh: float) -> list[places.Leg]:
        legs = self.router.route([(p.lat, p.lon) for p in points], fallback_kmh=speed_kmh)
        if speed_kmh >= CAR_KMH:
            return legs
        return [dataclasses.replace(leg, seconds=max(leg.seconds, leg.metres / (speed_kmh / 3.6)))
                for leg in legs]


@dataclass(frozen=True)
class OsrmRoads(routing.OsrmTable):
    """An OSRM server's car times, slowed for reps slower than a car (see :func:`slower`)."""

    def matrices(self, locations: Sequence[routing.Location],
                 speed_kmh: float) -> routing.Matrices:
        return _slowed(super().matrices(locations, speed_kmh), speed_kmh)


@dataclass(frozen=True)
class ValhallaRoads(routing.ValhallaMatrix):
    """A Valhalla server's car times, slowed for reps slower than a car (see :func:`slower`)."""

    def matrices(self, locations: Sequence[routing.Location],
                 speed_kmh: float) -> routing.Matrices:
        return _slowed(super().matrices(locations, speed_kmh), speed_kmh)


def _slowed(m: routing.Matrices, speed_kmh: float) -> routing.Matrices:
    """A road server's matrices with :func:`slower` times: one rule for every server."""
    m.travel_s = _whole(slower(m.travel_s, m.distance_m, speed_kmh))
    return m


def slower(seconds: np.ndarray, metres: np.ndarray, speed_kmh: float) -> np.ndarray:
    """Road times for a rep at ``speed_kmh``: the road graph and the road servers (OSRM,
    Valhalla) know a car's times, so a rep slower than a car (a bike, on foot) takes at least
    the road's metres at their own speed on each trip; a car, or anything faster, keeps the
    road's times."""
    if speed_kmh >= CAR_KMH:
        return seconds
    return np.maximum(seconds, metres / (speed_kmh / 3.6))


def route_legs(points: Sequence[routing.Location], speed_kmh: float) -> list[dict[str, Any]]:
    """The legs between consecutive ``points`` along the roads, for the plan map:
    ``{"s": seconds, "m": metres, "line": [[lat, lon], ...]}`` each (coordinates to 1e-5°,
    about a metre), from the region or the road server (OSRM or Valhalla: any
    :class:`routing.RoadService`). Empty for straight-line plans or when the server cannot
    answer (the map then joins the stops with straight lines)."""
    provider = travel_provider()
    if len(points) < 2:
        return []
    legs: Sequence[places.Leg | routing.RouteLeg]
    if isinstance(provider, RegionRoads):
        legs = provider.legs(points, speed_kmh)
    elif isinstance(provider, routing.RoadService):
        try:
            legs = provider.route(points)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("road service %s gave no route lines (%s)", provider.base_url, exc)
            return []
    else:
        return []
    return [{"s": round(leg.seconds), "m": round(leg.metres), "line": _thin(leg.line)}
            for leg in legs]


def _thin(line: Sequence[tuple[float, float]]) -> list[list[float]]:
    """The line without the points a map cannot show (Douglas-Peucker at ~1 m), to 1e-5°:
    plan pages carry every rep's day, so each point saved counts."""
    if len(line) > 2:
        line = list(LineString(line).simplify(LINE_TOLERANCE_DEG, preserve_topology=False)
                    .coords)
    return [[round(a, 5), round(b, 5)] for a, b in line]


def travel_notes(notes: Sequence[str]) -> list[str]:
    """The notes a plan's travel provider left (straight-line estimate, an unreachable road
    service, trips off the region's roads), which every plan made with it must show."""
    return list(dict.fromkeys(
        n for n in notes
        if n.startswith(("straight-line estimate", "road service ", "road graph: "))))


def workload_model() -> territories.WorkloadModel:
    """The territory workload estimate's assumptions, with its road factor from the travel
    provider: on a region, how much longer the roads take than great-circle at the model's
    speed (median over seeded random pairs of road nodes, measured once per loaded region);
    otherwise the straight-line circuity (a road server, OSRM or Valhalla, is not asked for an
    estimate)."""
    base = territories.WorkloadModel()
    provider = travel_provider(base.circuity)
    if not isinstance(provider, RegionRoads):
        return base
    return dataclasses.replace(base, circuity=_road_factor(provider.router, base.speed_kmh))


def _road_factor(router: places.RoadRouter, speed_kmh: float) -> float:
    key = (id(router), speed_kmh)
    if key not in _factors:
        g = router.graph
        rng = np.random.default_rng(7)
        nodes = rng.choice(router.snappable, size=min(200, len(router.snappable)), replace=False)
        pts = [(float(g.lat[k]), float(g.lon[k])) for k in nodes]
        m = router.matrix(pts, fallback_kmh=speed_kmh)
        lat, lon = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        crow = places.roads.haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        ok = (crow > 200) & ~m.estimated
        ratio = m.seconds[ok] * (speed_kmh / 3.6) / crow[ok]
        _factors[key] = float(np.clip(np.median(ratio), 1.0, 5.0)) if ok.any() else 1.3
    return _factors[key]


def travel_mode() -> str:
    """The configured mode (``region``/``osrm``/``valhalla``/``straight``), or ``""`` for the
    default."""
    mode = str(current_app.config.get("GEOCRM_TRAVEL") or "").strip().lower()
    if mode and mode not in MODES:
        raise ValidationError("GEOCRM_TRAVEL", f"must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def road_server() -> str | None:
    """The road server plans drive on when no region is loaded (``"OSRM"``, ``"Valhalla"``),
    or None when ``GEOCRM_TRAVEL`` names none: then, without a region, plans are straight-line
    estimates. Pages and commands say which, rather than assume straight lines."""
    return SERVICE_NAMES.get(travel_mode())


def travel_provider(circuity: float = 1.3) -> routing.TravelProvider:
    """What plans drive on now, from ``GEOCRM_TRAVEL`` and whether a region is loaded."""
    mode = travel_mode()
    if mode in SERVICES:
        setting = SERVICES[mode]
        url = str(current_app.config.get(setting) or "").strip()
        if not url:
            raise ValidationError(setting, f"is required when GEOCRM_TRAVEL={mode}")
        server = OsrmRoads if mode == "osrm" else ValhallaRoads
        return server(url, fallback=routing.GreatCircle(circuity))
    if mode == "straight":
        return StraightLine(circuity)
    router = road_router()
    if router is not None:
        return RegionRoads(router)
    if mode == "region":
        return StraightLine(circuity, "GEOCRM_TRAVEL=region but no region is loaded")
    return StraightLine(circuity)


def _whole(values: np.ndarray) -> np.ndarray:
    return np.rint(values).astype(np.int64)
