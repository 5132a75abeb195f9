"""Travel matrices and route lines from a Valhalla server the company runs.

Valhalla is the other open road engine companies run beside OSRM; its HTTP API is JSON in,
JSON out (valhalla.github.io/valhalla/api):

* ``POST /sources_to_targets`` with ``sources``/``targets`` as ``{"lat", "lon"}`` objects
  answers ``sources_to_targets``: one row per source, one cell per target, each
  ``{"distance": km, "time": s, "from_index", "to_index"}``; a null cell means no route.
* ``POST /route`` through ``break`` locations answers ``trip.legs``, each with a ``summary``
  (``time`` s, ``length`` km) and its ``shape`` as an encoded polyline with six digits of
  precision (not Google's five: :func:`decode_polyline`).
* Errors come back as HTTP 4xx/5xx with ``{"error_code", "error", "status_code"}``.

:class:`ValhallaMatrix` behaves exactly like :class:`routing.OsrmTable`: requests go in
blocks of ``block`` points (servers limit the locations per request), and any failure falls
back to great-circle for the whole matrix with the same warning words, which the app
recognises by their start.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routing.matrix import BlockedService
from routing.model import Location
from routing.osrm_route import RouteLeg

COSTING = "auto"  # a car: reps slower than one are slowed by the app, as for OSRM


@dataclass(frozen=True)
class ValhallaMatrix(BlockedService):
    """A Valhalla server's ``/sources_to_targets`` and ``/route``, asked in blocks of
    ``block`` points.

    Times come from the service (the rep's speed is ignored: the road network knows better);
    a null cell (no route) is a failure like any other (see :class:`BlockedService`).
    """

    def route(self, locations: Sequence[Location]) -> list[RouteLeg]:
        """The legs between consecutive ``locations`` along the server's roads, in blocks of
        ``block`` stops (consecutive blocks share their end stop); raises ``OSError`` or
        ``ValueError`` when it cannot answer, so the caller draws straight lines instead."""
        legs: list[RouteLeg] = []
        for i0 in range(0, max(len(locations) - 1, 0), self.block - 1):
            part = locations[i0:i0 + self.block]
            if len(part) >= 2:
                legs.extend(self._route(part))
        return legs

    def _table(self, locations: Sequence[Location], src: list[int], dst: list[int]
               ) -> tuple[np.ndarray, np.ndarray]:
        body = _post(self.base_url, "sources_to_targets", {
            "sources": [_point(locations[i]) for i in src],
            "targets": [_point(locations[j]) for j in dst],
            "costing": COSTING, "units": "kilometers"}, self.timeout_s)
        rows = body["sources_to_targets"]
        if not isinstance(rows, list) or len(rows) != len(src):
            raise ValueError("incomplete table")
        km = np.zeros((len(src), len(dst)))
        seconds = np.zeros((len(src), len(dst)))
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(dst):
                raise ValueError("incomplete table")
            for j, cell in enumerate(row):
                if cell.get("from_index", i) != i or cell.get("to_index", j) != j:
                    raise ValueError("table cells out of order")
                if cell.get("time") is None or cell.get("distance") is None:
                    raise ValueError(f"no route from point {src[i]} to point {dst[j]}")
                km[i, j], seconds[i, j] = float(cell["distance"]), float(cell["time"])
        return np.rint(km * 1000).astype(np.int64), np.rint(seconds).astype(np.int64)

    def _route(self, part: Sequence[Location]) -> list[RouteLeg]:
        body = _post(self.base_url, "route", {
            "locations": [{**_point(p), "type": "break"} for p in part],
            "costing": COSTING, "units": "kilometers", "directions_type": "none"},
            self.timeout_s)
        trip = body["trip"]
        if trip.get("status") != 0:
            raise ValueError(f"service answered status {trip.get('status')!r}: "
                             f"{trip.get('status_message', '')}")
        raw_legs = trip["legs"]
        if len(raw_legs) != len(part) - 1:
            raise ValueError(f"{len(raw_legs)} legs for {len(part)} stops")
        out = []
        for leg, a, b in zip(raw_legs, part[:-1], part[1:], strict=True):
            line = decode_polyline(leg.get("shape") or "")
            if len(line) < 2:
                line = [(a.lat, a.lon), (b.lat, b.lon)]
            summary = leg["summary"]
            out.append(RouteLeg(float(summary["time"]), float(summary["length"]) * 1000,
                                tuple(line)))
        return out


def decode_polyline(encoded: str, precision: int = 6) -> list[tuple[float, float]]:
    """The (lat, lon) points of an encoded polyline (Google's algorithm; Valhalla encodes
    with ``precision=6``, Google and OSRM's default with 5). Raises ``ValueError`` on a
    string that is not one, rather than returning a line through the wrong places."""
    factor = 10**precision
    points: list[tuple[float, float]] = []
    index = lat = lon = 0
    while index < len(encoded):
        deltas = []
        for _ in range(2):
            shift = result = 0
            while True:
                if index >= len(encoded):
                    raise ValueError("polyline ends inside a coordinate")
                byte = ord(encoded[index]) - 63
                index += 1
                if not 0 <= byte < 64:
                    raise ValueError(f"{encoded[index - 1]!r} is not a polyline character")
                result |= (byte & 0x1F) << shift
                shift += 5
                if byte < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat += deltas[0]
        lon += deltas[1]
        points.append((round(lat / factor, precision), round(lon / factor, precision)))
    return points


def _point(p: Location) -> dict[str, float]:
    return {"lat": round(p.lat, 6), "lon": round(p.lon, 6)}


def _post(base_url: str, action: str, payload: dict[str, Any], timeout_s: float
          ) -> dict[str, Any]:
    """One JSON request; an HTTP error raises ``ValueError`` with Valhalla's own words
    (``error_code`` and ``error``) when its body has them."""
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/{action}", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            if response.status != 200:
                raise ValueError(f"service answered HTTP {response.status}")
            body = json.loads(response.read().decode())
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read().decode())
            detail = f"{error['error_code']} {error['error']}"
        except (ValueError, KeyError, TypeError, OSError):
            raise exc from None
        raise ValueError(f"HTTP {exc.code}: {detail}") from exc
    if not isinstance(body, dict):
        raise ValueError("service answered no JSON object")
    return body
