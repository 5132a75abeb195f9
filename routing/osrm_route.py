"""Route lines from an OSRM-compatible ``/route/v1/driving`` service, leg by leg.

The ``/table`` service (:class:`routing.OsrmTable`) gives the matrices a plan is made on; once
the order is known, a map wants the line each leg drives. One ``/route`` request through all
the stops with ``steps=true&geometries=geojson&overview=false`` answers every leg's duration,
distance and steps; each step carries its own GeoJSON ``LineString``, and a leg's line is its
steps' lines joined (the documented way to get per-leg geometry: ``overview`` is the whole
route only). Requests go in blocks of ``block`` stops (consecutive blocks share their end
stop); servers limit the coordinates per request.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from routing.model import Location


@dataclass(frozen=True)
class RouteLeg:
    """One drive between consecutive stops: seconds, metres and its line as (lat, lon)."""

    seconds: float
    metres: float
    line: tuple[tuple[float, float], ...]


def osrm_route(base_url: str, locations: Sequence[Location], *, timeout_s: float = 10.0,
               block: int = 100) -> list[RouteLeg]:
    """The legs between consecutive ``locations`` as the service drives them.

    Raises ``OSError`` (unreachable, HTTP error) or ``ValueError`` (not ``Ok``, a reply that
    does not have one leg per pair of stops) so the caller can fall back to straight lines.
    """
    if block < 2:
        raise ValueError("block must be at least 2")
    legs: list[RouteLeg] = []
    for i0 in range(0, max(len(locations) - 1, 0), block - 1):
        part = locations[i0:i0 + block]
        if len(part) >= 2:
            legs.extend(_route(base_url, part, timeout_s))
    return legs


def _route(base_url: str, part: Sequence[Location], timeout_s: float) -> list[RouteLeg]:
    coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in part)
    url = (f"{base_url.rstrip('/')}/route/v1/driving/{coords}"
           "?steps=true&geometries=geojson&overview=false&annotations=false")
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
        body = json.loads(response.read().decode())
    if body.get("code") != "Ok" or not body.get("routes"):
        raise ValueError(f"service answered {body.get('code')!r}: {body.get('message', '')}")
    raw_legs = body["routes"][0]["legs"]
    if len(raw_legs) != len(part) - 1:
        raise ValueError(f"{len(raw_legs)} legs for {len(part)} stops")
    out = []
    for leg, a, b in zip(raw_legs, part[:-1], part[1:], strict=True):
        line: list[tuple[float, float]] = []
        for step in leg.get("steps") or []:
            for lon, lat in step["geometry"]["coordinates"]:
                point = (float(lat), float(lon))
                if not line or line[-1] != point:
                    line.append(point)
        if len(line) < 2:
            line = [(a.lat, a.lon), (b.lat, b.lon)]
        out.append(RouteLeg(float(leg["duration"]), float(leg["distance"]), tuple(line)))
    return out
