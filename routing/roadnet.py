"""Travel matrices from a local road network built from an OpenStreetMap extract file.

For customers who want road distances but run no routing service: :meth:`RoadNetwork.from_osm`
reads a ``.osm.pbf`` extract with pyrosm (drivable ways only), keeps the largest strongly
connected part (so every snapped point can reach every other one), and times each road
segment at its ``maxspeed`` or, without one, a typical speed for its ``highway`` class (one
table for both graphs: :func:`places.roads.road_speed_kmh`).
:meth:`RoadNetwork.matrices` snaps each location to the nearest node, runs one Dijkstra per
distinct source node on travel time (stopping once every target is settled) and adds the
short access leg at each end. Points farther than ``max_snap_m`` from the network (outside
the extract) fall back to great-circle × circuity, with a warning carried into the plan.

Dijkstra is plain Python over adjacency lists: a city extract of tens of thousands of nodes
answers a 100-point matrix in seconds, and the library needs no graph package.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from places.roads import road_speed_kmh
from routing import checks
from routing.errors import ModelError
from routing.matrix import EARTH_M, GreatCircle, Matrices
from routing.model import Location

log = logging.getLogger(__name__)

ACCESS_KMH = 15.0  # from the snapped node to the door: parking, walking


def _direction(oneway: str | None, tags: dict[str, str]) -> tuple[bool, bool]:
    """(forward, backward) allowed for a way, from ``oneway`` and ``junction=roundabout``."""
    value = (oneway or tags.get("oneway") or "").strip().lower()
    if value in ("yes", "true", "1"):
        return True, False
    if value == "-1" or value == "reverse":
        return False, True
    if value in ("no", "false", "0"):
        return True, True
    if tags.get("junction") in ("roundabout", "circular"):
        return True, False
    return True, True


def _metres(lat1: np.ndarray, lon1: np.ndarray, lat2: float, lon2: float) -> np.ndarray:
    """Great-circle metres from arrays of points to one point."""
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dlat = p2 - p1
    dlon = math.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


class RoadNetwork:
    """A directed drivable graph and a :class:`~routing.TravelProvider` over it.

    Parameters are plain arrays so that tests can build tiny hand-made networks: node
    coordinates, and per directed edge its tail, head, length in metres and speed in km/h.
    Travel times come from the edge speeds (the rep's ``speed_kmh`` is not used: the roads
    know better); distances are those of the quickest path.
    """

    def __init__(self, lat: Sequence[float], lon: Sequence[float], tail: Sequence[int],
                 head: Sequence[int], length_m: Sequence[float], speed_kmh: Sequence[float],
                 *, circuity: float = 1.3, max_snap_m: float = 1000.0,
                 keep_largest: bool = True) -> None:
        where = "RoadNetwork"
        self.circuity = checks.number(where, "circuity", circuity, minimum=1, maximum=10)
        self.max_snap_m = checks.number(where, "max_snap_m", max_snap_m, minimum=0)
        n = len(lat)
        if n == 0:
            raise ModelError(where, "lat", "the network has no nodes")
        checks.array(where, "lat", lat, shape=(n,), minimum=-90)
        checks.array(where, "lon", lon, shape=(n,), minimum=-180)
        m = len(tail)
        for name, values in (("tail", tail), ("head", head)):
            arr = checks.array(where, name, values, shape=(m,), minimum=0)
            if m and arr.max() >= n:
                raise ModelError(where, name, f"row {int(arr.argmax())} names a node that "
                                 f"does not exist ({int(arr.max())} of {n})")
        checks.array(where, "length_m", length_m, shape=(m,), minimum=0)
        speeds = checks.array(where, "speed_kmh", speed_kmh, shape=(m,))
        if m and (speeds <= 0).any():
            raise ModelError(where, "speed_kmh", f"row {int((speeds <= 0).argmax())} is not "
                             "a positive speed")
        adj: list[list[tuple[int, float, float]]] = [[] for _ in range(n)]
        for u, v, d, s in zip(tail, head, length_m, speed_kmh, strict=True):
            if u != v:
                adj[int(u)].append((int(v), float(d) / (float(s) / 3.6), float(d)))
        self.adj = adj
        self.lat = np.asarray(lat, dtype=float)
        self.lon = np.asarray(lon, dtype=float)
        component = self._largest_component() if keep_largest else list(range(n))
        self.snappable = np.array(sorted(component), dtype=np.int64)

    @property
    def size(self) -> int:
        return len(self.adj)

    @classmethod
    def from_osm(cls, path: str | Path, *, circuity: float = 1.3,
                 max_snap_m: float = 1000.0) -> RoadNetwork:
        """Build the drivable network of an ``.osm.pbf`` extract (needs pyrosm; no network)."""
        import pyrosm

        osm = pyrosm.OSM(str(path))
        nodes, edges = osm.get_network(network_type="driving", nodes=True)
        if nodes is None or edges is None or len(edges) == 0:
            raise ValueError(f"{path}: no drivable roads in the extract")
        index = {int(i): k for k, i in enumerate(nodes["id"].tolist())}
        tail: list[int] = []
        head: list[int] = []
        length: list[float] = []
        speed: list[float] = []
        for row in edges[["u", "v", "length", "highway", "maxspeed", "oneway", "tags"]] \
                .itertuples(index=False):
            u, v = index.get(int(row.u)), index.get(int(row.v))
            if u is None or v is None:
                continue
            tags = _tags(row.tags)
            kmh = road_speed_kmh(_text(row.highway) or "", _text(row.maxspeed))
            forward, backward = _direction(_text(row.oneway), tags)
            for a, b, ok in ((u, v, forward), (v, u, backward)):
                if ok:
                    tail.append(a)
                    head.append(b)
                    length.append(float(row.length))
                    speed.append(kmh)
        return cls(nodes["lat"].tolist(), nodes["lon"].tolist(), tail, head, length, speed,
                   circuity=circuity, max_snap_m=max_snap_m)

    def _largest_component(self) -> list[int]:
        """Nodes of the largest strongly connected component (Kosaraju, iterative)."""
        n = self.size
        seen = [False] * n
        finish: list[int] = []
        for root in range(n):
            if seen[root]:
                continue
            seen[root] = True
            stack = [(root, 0)]
            while stack:
                node, i = stack[-1]
                if i < len(self.adj[node]):
                    stack[-1] = (node, i + 1)
                    nxt = self.adj[node][i][0]
                    if not seen[nxt]:
                        seen[nxt] = True
                        stack.append((nxt, 0))
                else:
                    stack.pop()
                    finish.append(node)
        radj: list[list[int]] = [[] for _ in range(n)]
        for u in range(n):
            for v, _, _ in self.adj[u]:
                radj[v].append(u)
        comp = [-1] * n
        best: list[int] = []
        for root in reversed(finish):
            if comp[root] != -1:
                continue
            comp[root] = root
            members, todo = [root], [root]
            while todo:
                node = todo.pop()
                for nxt in radj[node]:
                    if comp[nxt] == -1:
                        comp[nxt] = root
                        members.append(nxt)
                        todo.append(nxt)
            if len(members) > len(best):
                best = members
        return best

    def snap(self, locations: Sequence[Location]) -> tuple[np.ndarray, np.ndarray]:
        """Nearest usable node for each location, and the straight-line metres to it."""
        lat, lon = self.lat[self.snappable], self.lon[self.snappable]
        nodes = np.empty(len(locations), dtype=np.int64)
        gaps = np.empty(len(locations))
        for i, p in enumerate(locations):
            d = _metres(lat, lon, p.lat, p.lon)
            k = int(np.argmin(d))
            nodes[i], gaps[i] = self.snappable[k], d[k]
        return nodes, gaps

    def _dijkstra(self, source: int, targets: set[int]) -> dict[int, tuple[float, float]]:
        """Quickest (seconds, metres) from ``source`` to each reachable target."""
        best = {source: 0.0}
        out: dict[int, tuple[float, float]] = {}
        heap: list[tuple[float, float, int]] = [(0.0, 0.0, source)]
        left = set(targets)
        done: set[int] = set()
        while heap and left:
            t, d, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            if node in left:
                out[node] = (t, d)
                left.discard(node)
            for nxt, dt, dd in self.adj[node]:
                nt = t + dt
                if nt < best.get(nxt, math.inf):
                    best[nxt] = nt
                    heapq.heappush(heap, (nt, d + dd, nxt))
        return out

    def matrices(self, locations: Sequence[Location], speed_kmh: float) -> Matrices:
        """Metres and seconds between every pair of locations over the road network."""
        n = len(locations)
        nodes, gaps = self.snap(locations)
        on_net = gaps <= self.max_snap_m
        access_s = gaps / (ACCESS_KMH / 3.6)
        dist = np.zeros((n, n))
        dur = np.zeros((n, n))
        missing = np.zeros((n, n), dtype=bool)
        targets = {int(nodes[j]) for j in range(n) if on_net[j]}
        cache: dict[int, dict[int, tuple[float, float]]] = {}
        for i in range(n):
            if not on_net[i]:
                missing[i, :] = True
                continue
            src = int(nodes[i])
            if src not in cache:
                cache[src] = self._dijkstra(src, targets)
            reach = cache[src]
            for j in range(n):
                if i == j:
                    continue
                hit = reach.get(int(nodes[j])) if on_net[j] else None
                if hit is None:
                    missing[i, j] = True
                    continue
                dur[i, j] = access_s[i] + hit[0] + access_s[j]
                dist[i, j] = gaps[i] + hit[1] + gaps[j]
        missing[:, ~on_net] = True
        np.fill_diagonal(missing, False)
        warnings = []
        if missing.any():
            fallback = GreatCircle(self.circuity).matrices(locations, speed_kmh)
            dist[missing] = fallback.distance_m[missing]
            dur[missing] = fallback.travel_s[missing]
            off = int((~on_net).sum())
            message = (f"road network: {int(missing.sum())} of {n * (n - 1)} trips have no road "
                       f"path ({off} points farther than {self.max_snap_m:.0f} m from the "
                       "network); used great-circle for those")
            log.warning(message)
            warnings.append(message)
        return Matrices(np.rint(dist).astype(np.int64), np.rint(dur).astype(np.int64),
                        warnings)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return None if text in ("", "nan", "None", "<NA>") else text


def _tags(value: Any) -> dict[str, str]:
    text = _text(value)
    if text is None:
        return {}
    try:
        tags = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}
