"""Travel matrices in whole metres and seconds, from pluggable providers.

The default needs no service: great-circle distance times a road circuity factor, at the
rep's speed. :class:`OsrmTable` asks an OSRM-compatible ``/table`` service the customer runs,
in blocks, and falls back to great-circle (with a warning in the plan) when it cannot;
:class:`routing.ValhallaMatrix` does the same on a Valhalla server. Both are road services
(:class:`RoadService`): they also draw the legs of a planned route.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from routing.checks import number
from routing.errors import ModelError
from routing.model import Location
from routing.osrm_route import RouteLeg, osrm_route

log = logging.getLogger(__name__)
EARTH_M = 6_371_008.8


@dataclass
class Matrices:
    """Distances in metres and travel times in seconds, plus any warnings for the plan."""

    distance_m: np.ndarray
    travel_s: np.ndarray
    warnings: list[str] = field(default_factory=list)


class TravelProvider(Protocol):
    """Anything that turns locations into distance and time matrices."""

    def matrices(self, locations: Sequence[Location], speed_kmh: float) -> Matrices: ...


@runtime_checkable
class RoadService(TravelProvider, Protocol):
    """A road server the company runs (:class:`OsrmTable`, :class:`routing.ValhallaMatrix`):
    it gives the matrices and, once the order is known, the legs a map draws. One protocol so
    the app asks "can it draw legs?" in one place, whatever the engine."""

    @property
    def base_url(self) -> str: ...

    def route(self, locations: Sequence[Location]) -> list[RouteLeg]: ...


def haversine_matrix(locations: Sequence[Location]) -> np.ndarray:
    """Great-circle distances in metres between every pair of locations."""
    lat = np.radians([p.lat for p in locations])
    lon = np.radians([p.lon for p in locations])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


@dataclass(frozen=True)
class GreatCircle:
    """Great-circle × circuity at the rep's speed: no network, no service, always there."""

    circuity: float = 1.3

    def __post_init__(self) -> None:
        number("GreatCircle", "circuity", self.circuity, minimum=1, maximum=10)

    def matrices(self, locations: Sequence[Location], speed_kmh: float) -> Matrices:
        d = haversine_matrix(locations) * self.circuity
        t = d / (speed_kmh / 3.6)
        return Matrices(np.rint(d).astype(np.int64), np.rint(t).astype(np.int64))


@dataclass(frozen=True)
class BlockedService:
    """What every road server has in common: asked in blocks of ``block`` points (servers
    limit the locations per request), and any failure — timeout, HTTP error, an error body,
    bad JSON, a missing cell, a wrongly shaped answer — falls back to :class:`GreatCircle`
    for the whole matrix and records why, so a plan is never half roads and half estimates.
    The warning's words are the same for every server: the app recognises them by their
    start. A server says how to ask for one block in ``_table``."""

    base_url: str
    timeout_s: float = 10.0
    block: int = 100
    fallback: GreatCircle = GreatCircle()

    def __post_init__(self) -> None:
        where = type(self).__name__
        if not self.base_url:
            raise ModelError(where, "base_url", "is required")
        number(where, "timeout_s", self.timeout_s, positive=True)
        if number(where, "block", self.block, minimum=2) != int(self.block):
            raise ModelError(where, "block", "must be a whole number")

    def matrices(self, locations: Sequence[Location], speed_kmh: float) -> Matrices:
        """Metres and seconds between every pair of ``locations`` (int64), or great-circle
        with a ``road service … unavailable`` warning when the server cannot answer."""
        n = len(locations)
        try:
            dist = np.zeros((n, n), dtype=np.int64)
            dur = np.zeros((n, n), dtype=np.int64)
            for i0 in range(0, n, self.block):
                for j0 in range(0, n, self.block):
                    src = list(range(i0, min(n, i0 + self.block)))
                    dst = list(range(j0, min(n, j0 + self.block)))
                    d, t = self._table(locations, src, dst)
                    dist[np.ix_(src, dst)] = d
                    dur[np.ix_(src, dst)] = t
            return Matrices(dist, dur)
        except (OSError, ValueError, KeyError, TypeError, IndexError,
                urllib.error.URLError) as exc:
            message = f"road service {self.base_url} unavailable ({exc}); used great-circle"
            log.warning(message)
            result = self.fallback.matrices(locations, speed_kmh)
            result.warnings.append(message)
            return result

    def _table(self, locations: Sequence[Location], src: list[int], dst: list[int]
               ) -> tuple[np.ndarray, np.ndarray]:
        """Metres and seconds from ``src`` to ``dst`` (indices into ``locations``)."""
        raise NotImplementedError


@dataclass(frozen=True)
class OsrmTable(BlockedService):
    """An OSRM-compatible ``/table/v1/driving`` service (see :class:`BlockedService`).

    Durations come from the service (the rep's speed is ignored: the road network knows
    better).
    """

    def route(self, locations: Sequence[Location]) -> list[RouteLeg]:
        """The legs between consecutive ``locations`` along the service's roads (its
        ``/route`` API, :func:`routing.osrm_route.osrm_route`); raises ``OSError`` or
        ``ValueError`` when it cannot answer, so the caller draws straight lines instead."""
        return osrm_route(self.base_url, locations, timeout_s=self.timeout_s, block=self.block)

    def _table(self, locations: Sequence[Location], src: list[int], dst: list[int]
               ) -> tuple[np.ndarray, np.ndarray]:
        points = sorted(set(src) | set(dst))
        pos = {p: i for i, p in enumerate(points)}
        coords = ";".join(f"{locations[p].lon:.6f},{locations[p].lat:.6f}" for p in points)
        query = (f"sources={';'.join(str(pos[s]) for s in src)}"
                 f"&destinations={';'.join(str(pos[d]) for d in dst)}"
                 "&annotations=duration,distance")
        url = f"{self.base_url.rstrip('/')}/table/v1/driving/{coords}?{query}"
        with urllib.request.urlopen(url, timeout=self.timeout_s) as response:  # noqa: S310
            body = json.loads(response.read().decode())
        if body.get("code") != "Ok":
            raise ValueError(f"service answered {body.get('code')!r}")
        durations = np.array(body["durations"], dtype=float)
        distances = np.array(body["distances"], dtype=float)
        if durations.shape != (len(src), len(dst)) or np.isnan(durations).any():
            raise ValueError("incomplete table")
        return np.rint(distances).astype(np.int64), np.rint(durations).astype(np.int64)


def euclidean(xy: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Euclidean distances between planar points, times ``scale`` (benchmarks)."""
    diff = xy[:, None, :] - xy[None, :, :]
    return np.asarray(np.sqrt((diff**2).sum(-1)) * scale)


