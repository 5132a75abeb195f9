"""Travel times, distances and route lines over a region's road graph.

:class:`RoadRouter` snaps each point to the nearest node of the graph's largest strongly
connected part (a KD-tree, so every snapped point can reach every other one) and adds the
off-road leg from the point to that node at :data:`ACCESS_KMH` (parking and walking to the door).
Many-to-many matrices run scipy's C Dijkstra from every distinct source node, on the graph
without its shape points (:mod:`places.contract`: same paths, a fifth of the nodes), in blocks of
sources small enough to stay in memory the allocator reuses; only the largest strongly
connected part is searched, dead-end trees without a point are peeled off, most junctions
without a point are bypassed by exact shortcuts (:func:`places.contract.bypass`), and each source's
Dijkstra stops at a bound no target exceeds (:func:`source_limits`). A large matrix (more than
:data:`PARALLEL_CELLS` source x node cells) is shared in chunks between this process and
``workers - 1`` helper processes (scipy's Dijkstra holds the GIL, so threads would not help):
helpers take chunks from the front, this process from the back, so a helper slowed down by a
busy machine does not hold the matrix up. Every chunk is the same Dijkstra over the same
graph, so the answer is identical, only sooner when a core is free.

One Dijkstra gives both numbers of the quickest path: each edge's weight packs its time in
centiseconds above its length in decimetres (``time_cs * 2**26 + length_dm``). Sums of such
integers are exact in float64 (below 2**53), the smallest sum is the quickest path (ties to
the shorter one), and the low bits of the sum are that path's length. A path longer than
6,711 km would carry a centisecond into the time: no one plans such a day.

Matrices are kept per set of points (LRU on a hash of the rounded coordinates), so planning,
re-checking and the week spread over the same accounts pay once. Trips that leave the network
(points farther than ``max_snap_m`` from any road) are estimated as great-circle × circuity at
the given speed, marked in ``estimated`` and named in ``warnings``.
"""

from __future__ import annotations

import atexit
import hashlib
import multiprocessing
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from places.contract import Chains, bypass
from places.roads import EARTH_M, RegionError, RoadGraph, haversine_m

ACCESS_KMH = 10.0  # from the snapped road node to the door: parking, walking
PACK = float(2**26)  # decimetres fit below this; centiseconds above it
CELLS_PER_BLOCK = 2_000_000  # Dijkstra rows held at once: sources x nodes (16 MB of float64)
PARALLEL_CELLS = 8_000_000  # sources x nodes above which helper processes share the work
# share of the region's bounding box the points' box covers from which junctions are bypassed:
# points spread over a region make every Dijkstra search most of it (bypassing saves ~30 % of
# the CPU); a cluster's Dijkstras stop at their bounds first, where bypassing costs ~10 % more
BYPASS_COVER = 0.25

Point = tuple[float, float]  # (lat, lon) in WGS84 degrees


@dataclass
class TravelMatrix:
    """Seconds and metres between every pair of points (row = from, column = to).

    ``estimated`` marks the trips that are great-circle estimates rather than road paths;
    ``warnings`` says why, for the plan.
    """

    seconds: npt.NDArray[np.float64]
    metres: npt.NDArray[np.float64]
    estimated: npt.NDArray[np.bool_]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Leg:
    """One drive between consecutive stops: time, distance and the line along the roads.

    ``line`` runs from the first point through the road nodes to the second, as (lat, lon);
    an ``estimated`` leg is the straight line between the two.
    """

    seconds: float
    metres: float
    line: tuple[Point, ...]
    estimated: bool = False


class RoadRouter:
    """Travel over one :class:`~places.roads.RoadGraph` (build once per loaded region)."""

    def __init__(self, graph: RoadGraph, *, max_snap_m: float = 1000.0, circuity: float = 1.3,
                 access_kmh: float = ACCESS_KMH, cache_size: int = 32,
                 workers: int | None = None) -> None:
        """``workers``: processes that share a large matrix's Dijkstra (this one included);
        default two when the machine has two cores or more, one (no helper) otherwise."""
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        if workers < 1:
            raise RegionError("workers must be 1 or more")
        self.workers = int(workers)
        if not max_snap_m >= 0:
            raise RegionError("max_snap_m must be zero or more")
        if not 1 <= circuity <= 10:
            raise RegionError("circuity must be between 1 and 10")
        if not access_kmh > 0:
            raise RegionError("access_kmh must be positive")
        self.graph = graph
        self.max_snap_m = float(max_snap_m)
        self.circuity = float(circuity)
        self.access_mps = float(access_kmh) / 3.6
        n = graph.nodes
        weight = (np.rint(graph.time_s * 100) * PACK
                  + np.maximum(np.rint(graph.length_m * 10), 1))
        # one edge per (tail, head): the quickest of any parallel ways
        order = np.lexsort((weight, graph.head, graph.tail))
        t, h, w = graph.tail[order], graph.head[order], weight[order]
        first = np.ones(len(t), dtype=bool)
        first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
        keep = first & (t != h)
        self.csr = csr_matrix((w[keep], (t[keep], h[keep])), shape=(n, n))
        _, labels = connected_components(self.csr, directed=True, connection="strong")
        biggest = int(np.bincount(labels).argmax())
        self.snappable = np.flatnonzero(labels == biggest)
        self._lat0 = float(np.radians(np.mean(graph.lat))) if n else 0.0
        self.tree = cKDTree(self._xy(graph.lat[self.snappable], graph.lon[self.snappable]))
        self._chains: Chains | None = None
        self._cache: OrderedDict[str, TravelMatrix] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def chains(self) -> Chains:
        """The graph without its shape points (built at the first matrix, then kept)."""
        with self._lock:
            if self._chains is None:
                self._chains = Chains(self._reachable_csr(), _curve_rank(self.graph))
                if self.workers > 1 and int(self._chains.core.sum()) * 1000 >= PARALLEL_CELLS:
                    warm_helpers(self.workers - 1)  # a city: its large matrices will want them
            return self._chains

    def _reachable_csr(self) -> csr_matrix:
        """The graph less every edge that leaves the largest strongly connected part: every
        point snaps into it, and a path between two of its nodes never leaves it (it could not
        come back), so matrices need nothing else."""
        inside = np.zeros(self.graph.nodes, dtype=bool)
        inside[self.snappable] = True
        coo = self.csr.tocoo()
        keep = inside[coo.row] & inside[coo.col]
        return csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=self.csr.shape)

    def _cover(self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> float:
        """The share of the reachable region's bounding box that these nodes' box covers."""
        g = self.graph
        span = [float(np.ptp(v[self.snappable])) for v in (g.lat, g.lon)]
        if len(lat) < 2 or not span[0] * span[1] > 0:
            return 0.0
        return float(np.ptp(lat)) * float(np.ptp(lon)) / (span[0] * span[1])

    # -- snapping ------------------------------------------------------------------------
    def _xy(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Local equirectangular metres: close enough to find the nearest node."""
        x = np.radians(lon) * EARTH_M * np.cos(self._lat0)
        y = np.radians(lat) * EARTH_M
        return np.column_stack([x, y]).astype(np.float64)

    def snap(self, points: Sequence[Point]) -> tuple[npt.NDArray[np.int64],
                                                     npt.NDArray[np.float64]]:
        """Nearest reachable road node of each point, and the great-circle metres to it."""
        lat = np.array([p[0] for p in points], dtype=np.float64)
        lon = np.array([p[1] for p in points], dtype=np.float64)
        if not len(points):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        _, k = self.tree.query(self._xy(lat, lon))
        nodes = self.snappable[np.asarray(k, dtype=np.int64)]
        gaps = haversine_m(lat, lon, self.graph.lat[nodes], self.graph.lon[nodes])
        return nodes.astype(np.int64), gaps

    # -- matrices ------------------------------------------------------------------------
    def matrix(self, points: Sequence[Point], fallback_kmh: float = 30.0) -> TravelMatrix:
        """Seconds and metres between every pair of ``points``, cached per set of points.

        ``fallback_kmh`` is the speed of the great-circle estimate for trips off the network.
        The arrays are shared with the cache: read-only.
        """
        key = _key(points, fallback_kmh)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        result = self._matrix(points, fallback_kmh)
        for arr in (result.seconds, result.metres, result.estimated):
            arr.setflags(write=False)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def _matrix(self, points: Sequence[Point], fallback_kmh: float) -> TravelMatrix:
        n = len(points)
        nodes, gaps = self.snap(points)
        on = gaps <= self.max_snap_m
        uniq, inverse = np.unique(nodes[on], return_inverse=True)
        packed = np.full((len(uniq), len(uniq)), np.inf)
        if len(uniq):
            core, at = self.chains.graph_for(uniq)
            g = self.graph
            if self._cover(g.lat[uniq], g.lon[uniq]) >= BYPASS_COVER:
                core, at = bypass(core, at)
            xy = self._xy(g.lat[uniq], g.lon[uniq])
            hub = int(np.argmin(((xy - xy.mean(axis=0)) ** 2).sum(axis=1)))
            packed[:] = self._shared_rows(core, at, hub)
        cs = np.floor(packed / PACK)
        dm = packed - cs * PACK
        idx = np.flatnonzero(on)
        road_s = np.full((n, n), np.inf)
        road_m = np.full((n, n), np.inf)
        road_s[np.ix_(idx, idx)] = cs[np.ix_(inverse, inverse)] / 100
        road_m[np.ix_(idx, idx)] = dm[np.ix_(inverse, inverse)] / 10
        access_s = gaps / self.access_mps
        seconds = road_s + access_s[:, None] + access_s[None, :]
        metres = road_m + gaps[:, None] + gaps[None, :]
        estimated = ~np.isfinite(seconds)
        np.fill_diagonal(estimated, False)
        np.fill_diagonal(seconds, 0.0)
        np.fill_diagonal(metres, 0.0)
        warnings: list[str] = []
        if estimated.any():
            lat = np.array([p[0] for p in points])
            lon = np.array([p[1] for p in points])
            crow = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
            crow = crow * self.circuity
            metres[estimated] = crow[estimated]
            seconds[estimated] = crow[estimated] / (fallback_kmh / 3.6)
            off = int((~on).sum())
            warnings.append(
                f"road graph: {int(estimated.sum())} of {n * (n - 1)} trips have no road path "
                f"({off} points farther than {self.max_snap_m:.0f} m from a road); those are "
                "straight-line estimates")
        return TravelMatrix(seconds, metres, estimated, warnings)

    def _shared_rows(self, core: csr_matrix, at: npt.NDArray[np.int64], hub: int = 0
                     ) -> npt.NDArray[np.float64]:
        """Packed weights from every ``at`` node to every ``at`` node.

        Each source's Dijkstra stops at a bound no target can exceed (:func:`source_limits`).
        Sources go in chunks; when the work is large enough to pay for sending the graph,
        helper processes take chunks from the front while this process takes them from the
        back, so a helper slowed by a busy machine never leaves this one waiting.
        """
        limits = source_limits(core, at, hub)
        order = np.argsort(limits, kind="stable")
        out = np.empty((len(at), len(at)))
        helpers = self.workers - 1
        if helpers < 1 or len(at) * core.shape[0] < PARALLEL_CELLS:
            out[order] = dijkstra_rows(core, at[order], at, limits[order])
            return out
        size = max(8, len(at) // (16 * self.workers))
        chunks = deque(order[lo:lo + size] for lo in range(0, len(at), size))
        pool = _pool(helpers)
        key = os.urandom(8).hex()
        flying: list[tuple[npt.NDArray[np.int64], Future[npt.NDArray[np.float64]]]] = []
        sent = False
        while chunks:
            # a few chunks queued per helper, so it never waits for this process to top up
            while helpers and chunks and sum(not f.done() for _, f in flying) < 4 * helpers:
                rows = chunks.popleft()
                try:
                    fut = pool.submit(_helper_rows, key, None if sent else core, at[rows], at,
                                      limits[rows])
                except (BrokenProcessPool, RuntimeError):
                    _drop_pool()
                    chunks.appendleft(rows)
                    helpers = 0
                    break
                sent = True
                flying.append((rows, fut))
            if chunks:
                rows = chunks.pop()
                out[rows] = dijkstra_rows(core, at[rows], at, limits[rows])
        # what a helper has not started yet is done here rather than waited for
        for rows, fut in reversed(flying):
            if fut.cancel():
                out[rows] = dijkstra_rows(core, at[rows], at, limits[rows])
        for rows, fut in flying:
            if not fut.cancelled():
                out[rows] = _result_or_here(fut, core, at[rows], at, limits[rows])
        return out

    # -- route lines ---------------------------------------------------------------------
    def route(self, points: Sequence[Point], fallback_kmh: float = 30.0) -> list[Leg]:
        """The legs between consecutive ``points``: time, distance and the road line."""
        if len(points) < 2:
            return []
        nodes, gaps = self.snap(points)
        on = gaps <= self.max_snap_m
        trees: dict[int, npt.NDArray[np.int32]] = {}
        legs: list[Leg] = []
        g = self.graph
        for i in range(len(points) - 1):
            a, b = points[i], points[i + 1]
            if not (on[i] and on[i + 1]):
                legs.append(self._straight(a, b, fallback_kmh))
                continue
            src, dst = int(nodes[i]), int(nodes[i + 1])
            if src not in trees:
                _, pred = dijkstra(self.csr, directed=True, indices=src,
                                   return_predecessors=True)
                trees[src] = np.asarray(pred, dtype=np.int32)
            pred = trees[src]
            path = [dst]
            while path[-1] != src:
                prev = int(pred[path[-1]])
                if prev < 0:
                    break
                path.append(prev)
            if path[-1] != src:
                legs.append(self._straight(a, b, fallback_kmh))
                continue
            path.reverse()
            p = np.asarray(path)
            ws = np.asarray(self.csr[p[:-1], p[1:]]).ravel() if len(p) > 1 else np.zeros(0)
            cs = np.floor(ws / PACK)
            road_s, road_m = float(cs.sum()) / 100, float((ws - cs * PACK).sum()) / 10
            line = ((float(a[0]), float(a[1])),
                    *((float(g.lat[k]), float(g.lon[k])) for k in path),
                    (float(b[0]), float(b[1])))
            legs.append(Leg(road_s + (gaps[i] + gaps[i + 1]) / self.access_mps,
                            road_m + gaps[i] + gaps[i + 1], line))
        return legs

    def _straight(self, a: Point, b: Point, fallback_kmh: float) -> Leg:
        metres = float(haversine_m(a[0], a[1], b[0], b[1])) * self.circuity
        return Leg(metres / (fallback_kmh / 3.6), metres,
                   ((float(a[0]), float(a[1])), (float(b[0]), float(b[1]))), estimated=True)


def dijkstra_rows(core: csr_matrix, sources: npt.NDArray[np.int64],
                  targets: npt.NDArray[np.int64],
                  limits: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64]:
    """Packed path weights from each of ``sources`` to each of ``targets`` (node indices of
    ``core``), a block of sources at a time so only :data:`CELLS_PER_BLOCK` cells are held.

    ``limits`` (per source, ascending) lets each block's Dijkstra stop at the block's largest:
    no source's path to a target may weigh more than its limit.
    """
    out = np.empty((len(sources), len(targets)))
    block = max(1, CELLS_PER_BLOCK // max(core.shape[0], 1))
    for s in range(0, len(sources), block):
        limit = np.inf if limits is None else float(np.max(limits[s:s + block]))
        rows = dijkstra(core, directed=True, indices=sources[s:s + block], limit=limit)
        out[s:s + block] = np.atleast_2d(rows)[:, targets]
    return out


def source_limits(core: csr_matrix, at: npt.NDArray[np.int64],
                  hub: int = 0) -> npt.NDArray[np.float64]:
    """Per ``at`` node, a weight no quickest path from it to another ``at`` node exceeds.

    Through a hub ``h`` (``at[hub]``, the point nearest the points' middle):
    ``d(s, t) <= d(s, h) + max_t d(h, t)``, from two Dijkstras (from the hub, and to it on the
    reversed graph). When the points cover only
    part of the region, each source's Dijkstra stops well before the region's far end; when
    they cover all of it, nothing is lost but the two Dijkstras. One is added, so the bound
    holds whatever way scipy compares with its limit (weights are whole numbers).
    """
    if len(at) < 2:
        return np.full(len(at), np.inf)
    out_of = dijkstra(core, directed=True, indices=int(at[hub]))[at]
    into = dijkstra(core.T.tocsr(), directed=True, indices=int(at[hub]))[at]
    return np.asarray(into + float(np.max(out_of)) + 1.0, dtype=np.float64)


_helper_graphs: dict[str, csr_matrix] = {}


def _helper_rows(key: str, core: csr_matrix | None, sources: npt.NDArray[np.int64],
                 targets: npt.NDArray[np.int64],
                 limits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """In a helper process: :func:`dijkstra_rows` on the graph sent with the request's first
    chunk (kept under ``key``; a helper that did not get it answers LookupError)."""
    if core is not None:
        _helper_graphs.clear()
        _helper_graphs[key] = core
    graph = _helper_graphs.get(key)
    if graph is None:
        raise LookupError(key)
    return dijkstra_rows(graph, sources, targets, limits)


def _result_or_here(fut: Future[npt.NDArray[np.float64]], core: csr_matrix,
                    sources: npt.NDArray[np.int64], targets: npt.NDArray[np.int64],
                    limits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A helper's chunk, or the same chunk computed here when the helper could not."""
    try:
        return fut.result()
    except (BrokenProcessPool, RuntimeError):
        _drop_pool()
    except LookupError:
        pass
    return dijkstra_rows(core, sources, targets, limits)


def _curve_rank(graph: RoadGraph) -> npt.NDArray[np.int64]:
    """Each node's place along a Z-order curve over its position (16 bits per axis), so
    nodes near each other on the map get nearby numbers."""
    if not graph.nodes:
        return np.zeros(0, dtype=np.int64)

    def scaled(v: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        span = float(v.max() - v.min()) or 1.0
        return np.asarray((v - v.min()) / span * 65535, dtype=np.int64)

    x, y = scaled(graph.lon), scaled(graph.lat)
    code = np.zeros(graph.nodes, dtype=np.int64)
    for bit in range(16):
        code |= ((x >> bit) & 1) << (2 * bit) | ((y >> bit) & 1) << (2 * bit + 1)
    return np.asarray(np.argsort(np.argsort(code, kind="stable"), kind="stable"), np.int64)


_pool_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


def _pool(helpers: int) -> ProcessPoolExecutor:
    """This process's helper pool (started once, by ``spawn``: safe in threaded servers and
    forked job workers alike)."""
    with _pool_lock:
        pool = _pools.get(helpers)
        if pool is None:
            pool = ProcessPoolExecutor(helpers, mp_context=multiprocessing.get_context("spawn"))
            _pools[helpers] = pool
        return pool


def warm_helpers(helpers: int = 1) -> None:
    """Start the helper processes now (they take a moment to import scipy), not at the first
    large matrix."""
    _pool(helpers).submit(int, 0)


def _drop_pool() -> None:
    with _pool_lock:
        for pool in _pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        _pools.clear()


atexit.register(_drop_pool)


def _key(points: Sequence[Point], fallback_kmh: float) -> str:
    coords = np.round(np.asarray(points, dtype=np.float64).reshape(-1, 2), 6)
    digest = hashlib.blake2b(coords.tobytes(), digest_size=16)
    digest.update(str(float(fallback_kmh)).encode())
    return digest.hexdigest()
