"""Balanced territories built from units, by routed-workload estimate, contiguous and compact.

The area is cut into units (a square or hexagonal grid by default, or the caller's own
units: postal areas, municipalities). Each unit carries its accounts' visits and visit
hours and its area. A territory's workload is computed from its units' totals with the
travel estimate of :mod:`territories.workload`, so balancing sees distance, not counts.

1. **Grow**: each rep's territory starts at the unit nearest their home; the lightest
   territory repeatedly takes the adjacent free unit nearest its seed (compact growth).
2. **Improve**: boundary units move from heavier to lighter neighbours when that lowers the
   pair's larger workload and leaves the donor connected, until the max/min ratio reaches
   the target or no move helps.

:func:`rebalance` runs step 2 from today's territories and prefers moving units with few
accounts, so that as many accounts as possible keep their rep.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from territories.assignment import assign
from territories.diagnose import polsby_popper
from territories.errors import CRSError, TerritoryError
from territories.workload import WorkloadModel, account_visits, travel_hours


def grid(area: BaseGeometry, cell: float, shape: str = "hex") -> list[BaseGeometry]:
    """Square or hexagonal cells of width ``cell`` (CRS units) covering ``area``, clipped."""
    if shape not in ("square", "hex"):
        raise TerritoryError(f"shape must be 'square' or 'hex', not {shape!r}")
    minx, miny, maxx, maxy = area.bounds
    cells: list[BaseGeometry] = []
    if shape == "square":
        xs = np.arange(minx, maxx, cell)
        ys = np.arange(miny, maxy, cell)
        boxes = [shapely.box(x, y, x + cell, y + cell) for x in xs for y in ys]
        cells = boxes
    else:
        r = cell / math.sqrt(3)  # circumradius of a flat-topped hexagon of width cell
        dx, dy = 1.5 * r, cell
        angles = np.radians(np.arange(0, 360, 60))
        hexagon = np.column_stack([r * np.cos(angles), r * np.sin(angles)])
        for i, x in enumerate(np.arange(minx - r, maxx + 2 * r, dx)):
            offset = 0.0 if i % 2 == 0 else dy / 2
            for y in np.arange(miny - dy + offset, maxy + dy, dy):
                cells.append(shapely.Polygon(hexagon + (x, y)))
    # Snap to a centimetre so neighbouring cells share exactly the same edges.
    cells = list(shapely.set_precision(np.array(cells, dtype=object), grid_size=0.01))
    tree = shapely.STRtree(cells)
    hits = tree.query(area, predicate="intersects")
    prepared = area
    shapely.prepare(prepared)
    out = []
    for i in sorted(hits.tolist()):
        c = cells[i]
        piece = c if shapely.contains(prepared, c) else shapely.intersection(area, c)
        if not piece.is_empty and piece.area > 0:
            out.append(piece)
    return out


@dataclass
class BalanceResult:
    """The proposal, with before/after numbers."""

    territories: gpd.GeoDataFrame  # one row per rep/territory: geometry and workload
    units: gpd.GeoDataFrame  # the units with their territory
    max_min: float
    before_max_min: float | None
    contiguous: bool
    moved_units: int
    moved_accounts: int


class _Partition:
    """Units, their adjacency and additive totals; regions are kept as unit -> region."""

    def __init__(self, units: gpd.GeoDataFrame, accounts: gpd.GeoDataFrame,
                 homes: np.ndarray, model: WorkloadModel) -> None:
        self.model = model
        geoms = units.geometry.values
        self.n = len(geoms)
        self.area = shapely.area(geoms) / 1e6
        cent = shapely.centroid(geoms)
        self.xy = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
        where = assign(accounts, units.reset_index(drop=True)[["geometry"]])
        visits, hours = account_visits(accounts, model)
        idx = where.to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(idx)
        pos = idx[ok].astype(int)
        self.visits = np.bincount(pos, weights=visits[ok], minlength=self.n)
        self.hours = np.bincount(pos, weights=hours[ok], minlength=self.n)
        self.count = np.bincount(pos, minlength=self.n)
        self.unplaced = int((~ok).sum())
        # Neighbours share a stretch of border. Real unit files have slivers and gaps of a
        # few centimetres, so compare units grown by half a metre: a shared edge of length L
        # overlaps by about L m², a corner touch by under 1 m².
        grown = shapely.buffer(geoms, 0.5, quad_segs=2)
        tree = shapely.STRtree(grown)
        a, b = tree.query(grown, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        shared = shapely.area(shapely.intersection(grown[a], grown[b]))
        self.adj: list[list[int]] = [[] for _ in range(self.n)]
        for i, j in zip(a[shared > 2.0].tolist(), b[shared > 2.0].tolist(), strict=True):
            self.adj[i].append(j)
            self.adj[j].append(i)
        self.homes = homes
        self.k = len(homes)

    def totals(self, region: np.ndarray) -> np.ndarray:
        return np.array([self.workload(region == r) for r in range(self.k)])

    def workload(self, mask: np.ndarray) -> float:
        return self._workload(self.visits[mask].sum(), self.hours[mask].sum(),
                              self.area[mask].sum(), self._centroid(mask), None)

    def _centroid(self, mask: np.ndarray) -> np.ndarray:
        a = self.area[mask]
        if a.sum() <= 0:
            return np.asarray(self.xy[mask].mean(axis=0)) if mask.any() else np.zeros(2)
        return np.asarray((self.xy[mask] * a[:, None]).sum(axis=0) / a.sum())

    def _workload(self, v: float, h: float, area: float, centre: np.ndarray,
                  r: int | None) -> float:
        home_km = 0.0
        if r is not None:
            home_km = float(np.hypot(*(self.homes[r] - centre))) / 1000
        return h + travel_hours(v, h, area, home_km, self.model)

    def region_workload(self, region: np.ndarray, r: int, add: int = -1, drop: int = -1) -> float:
        mask = region == r
        if add >= 0:
            mask = mask.copy()
            mask[add] = True
        if drop >= 0:
            mask = mask.copy()
            mask[drop] = False
        return self._workload(self.visits[mask].sum(), self.hours[mask].sum(),
                              self.area[mask].sum(), self._centroid(mask), r)

    def connected_without(self, region: np.ndarray, r: int, unit: int) -> bool:
        members = [u for u in np.nonzero(region == r)[0].tolist() if u != unit]
        if not members:
            return False
        seen = {members[0]}
        queue = deque([members[0]])
        allowed = set(members)
        while queue:
            u = queue.popleft()
            for v in self.adj[u]:
                if v in allowed and v not in seen:
                    seen.add(v)
                    queue.append(v)
        return len(seen) == len(allowed)

    def is_contiguous(self, region: np.ndarray) -> bool:
        return all(self.connected_without(region, r, -1) for r in range(self.k)
                   if (region == r).any())


def _grow(p: _Partition, rounds: int = 60) -> np.ndarray:
    """A compact, roughly balanced start: a power diagram around the reps' homes.

    Each unit goes to the territory minimising ``distance² - weight``; weights of heavy
    territories shrink and light ones grow until the loads even out. Power-diagram cells are
    convex-ish, so territories start compact; pieces cut off from their territory are then
    handed to the neighbour they share most border with.
    """
    centres = p.homes.astype(float).copy()
    weights = np.zeros(p.k)
    scale = float(np.ptp(p.xy, axis=0).max() ** 2) / p.k if p.n > 1 else 1.0
    d2 = ((p.xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    region = np.argmin(d2 - weights, axis=1)
    for step in range(rounds):
        loads = np.array([p.region_workload(region, r) for r in range(p.k)])
        mean = loads.mean() if loads.mean() > 0 else 1.0
        weights += (mean - loads) / mean * scale * (0.5 / (1 + step / 10))
        # Centres drift half-way to their territory's centre of area: compact, near home.
        for r in range(p.k):
            if (region == r).any():
                centres[r] = 0.5 * p.homes[r] + 0.5 * p._centroid(region == r)
        d2 = ((p.xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        region = np.argmin(d2 - weights, axis=1)
    return _make_contiguous(p, region)


def _make_contiguous(p: _Partition, region: np.ndarray) -> np.ndarray:
    """Keep each territory's largest connected piece; give stray pieces to a neighbour."""
    for _ in range(p.k * 4):
        changed = False
        for r in range(p.k):
            members = set(np.nonzero(region == r)[0].tolist())
            pieces = []
            while members:
                start = members.pop()
                piece, queue = {start}, deque([start])
                while queue:
                    u = queue.popleft()
                    for v in p.adj[u]:
                        if v in members:
                            members.discard(v)
                            piece.add(v)
                            queue.append(v)
                pieces.append(piece)
            if len(pieces) <= 1:
                continue
            pieces.sort(key=len, reverse=True)
            for piece in pieces[1:]:
                border: dict[int, int] = {}
                for u in piece:
                    for v in p.adj[u]:
                        if v not in piece and region[v] != r:
                            border[int(region[v])] = border.get(int(region[v]), 0) + 1
                if border:
                    target = max(sorted(border), key=lambda t: border[t])
                    for u in piece:
                        region[u] = target
                    changed = True
        if not changed:
            break
    return region


def _improve(p: _Partition, region: np.ndarray, target: float, max_moves: int,
             prefer_few_accounts: bool) -> np.ndarray:
    loads = np.array([p.region_workload(region, r) for r in range(p.k)])
    for _ in range(max_moves):
        if loads.min() > 0 and loads.max() / loads.min() <= target:
            break
        moved = False
        centres = [p._centroid(region == r) for r in range(p.k)]
        for heavy in np.argsort(-loads).tolist():
            best: tuple[float, float, int, int] | None = None
            for u in np.nonzero(region == heavy)[0].tolist():
                for light in {int(region[v]) for v in p.adj[u]} - {heavy}:
                    if loads[light] >= loads[heavy]:
                        continue
                    new_heavy = p.region_workload(region, heavy, drop=u)
                    new_light = p.region_workload(region, light, add=u)
                    if max(new_heavy, new_light) >= loads[heavy] - 1e-9:
                        continue
                    if not p.connected_without(region, heavy, u):
                        continue
                    cost = float(p.count[u]) if prefer_few_accounts else 0.0
                    # Among improving moves, the unit that sits most on the light side keeps
                    # both territories compact.
                    lean = float(np.hypot(*(p.xy[u] - centres[light]))
                                 - np.hypot(*(p.xy[u] - centres[heavy])))
                    key = (cost, lean, u, light)
                    if best is None or key < best:
                        best = key
            if best is not None:
                _, _, u, light = best
                region[u] = light
                loads[heavy] = p.region_workload(region, heavy)
                loads[light] = p.region_workload(region, light)
                moved = True
                break
        if not moved:
            break
    return region


def _result(p: _Partition, units: gpd.GeoDataFrame, region: np.ndarray, crs: object,
            before: np.ndarray | None) -> BalanceResult:
    loads = np.array([p.region_workload(region, r) for r in range(p.k)])
    units = units.copy()
    units["territory"] = region
    dissolved = units.dissolve(by="territory")
    # Close the centimetre slivers that real unit files leave between neighbours.
    closed = shapely.buffer(shapely.buffer(dissolved.geometry.values, 0.5, join_style="mitre"),
                            -0.5, join_style="mitre")
    dissolved = dissolved.set_geometry(gpd.GeoSeries(closed, index=dissolved.index,
                                                     crs=dissolved.crs))
    dissolved["workload_hours"] = loads[dissolved.index.to_numpy()]
    dissolved["accounts"] = [int(p.count[region == r].sum()) for r in dissolved.index]
    dissolved["compactness"] = polsby_popper(dissolved).to_numpy()
    moved = before is not None and len(before) == len(region)
    changed = (region != before) if moved and before is not None else np.zeros(p.n, bool)
    before_ratio = None
    if before is not None:
        b = np.array([p.region_workload(before, r) for r in range(p.k)])
        before_ratio = float(b.max() / b.min()) if b.min() > 0 else math.inf
    return BalanceResult(
        territories=dissolved.to_crs(crs),
        units=units.to_crs(crs),
        max_min=float(loads.max() / loads.min()) if loads.min() > 0 else math.inf,
        before_max_min=before_ratio,
        contiguous=p.is_contiguous(region),
        moved_units=int(changed.sum()),
        moved_accounts=int(p.count[changed].sum()),
    )


def _prepare(service_area: BaseGeometry | None, accounts: gpd.GeoDataFrame,
             homes: gpd.GeoSeries, units: gpd.GeoDataFrame | None, crs: object
             ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray, object]:
    if accounts.crs is None or homes.crs is None:
        raise CRSError("accounts and homes need a CRS")
    metric = accounts.estimate_utm_crs() if accounts.crs.is_geographic else accounts.crs
    acc = accounts.to_crs(metric)
    hom = homes.to_crs(metric)
    home_xy = np.column_stack([hom.x.to_numpy(), hom.y.to_numpy()])
    if units is None:
        assert service_area is not None
        return acc, gpd.GeoDataFrame(geometry=[], crs=metric), home_xy, metric
    return acc, units.to_crs(metric), home_xy, metric


def balance(
    service_area: BaseGeometry,
    accounts: gpd.GeoDataFrame,
    homes: gpd.GeoSeries,
    *,
    units: gpd.GeoDataFrame | None = None,
    cell: float | None = None,
    shape: str = "hex",
    model: WorkloadModel | None = None,
    target: float = 1.05,
    max_moves: int = 5000,
) -> BalanceResult:
    """Propose ``len(homes)`` contiguous, compact territories of balanced workload.

    ``service_area`` is in the accounts' CRS. Without ``units`` a grid of ``shape`` cells
    is laid over it; ``cell`` (metres) defaults to about 50 cells per territory.
    """
    k = len(homes)
    if k < 1:
        raise TerritoryError("at least one rep (home) is needed")
    model = model or WorkloadModel()
    acc, unit_frame, home_xy, metric = _prepare(service_area, accounts, homes, units, None)
    if units is None:
        area_m = gpd.GeoSeries([service_area], crs=accounts.crs).to_crs(metric).iloc[0]
        size = cell or math.sqrt(area_m.area / (50 * k))
        unit_frame = gpd.GeoDataFrame(geometry=grid(area_m, size, shape), crs=metric)
    if len(unit_frame) < k:
        raise TerritoryError(f"{len(unit_frame)} units cannot make {k} territories")
    p = _Partition(unit_frame, acc, home_xy, model)
    region = _improve(p, _grow(p), target, max_moves, prefer_few_accounts=False)
    return _result(p, unit_frame, region, accounts.crs, None)


def rebalance(
    units: gpd.GeoDataFrame,
    current: pd.Series,
    accounts: gpd.GeoDataFrame,
    homes: gpd.GeoSeries,
    *,
    model: WorkloadModel | None = None,
    target: float = 1.10,
    max_moves: int = 5000,
) -> BalanceResult:
    """Move the fewest accounts needed to bring today's territories to ``target`` max/min.

    ``current`` gives each unit's territory as a position ``0..k-1`` matching ``homes``.
    Units with few accounts move first, so most accounts keep their rep.
    """
    model = model or WorkloadModel()
    if len(current) != len(units):
        raise TerritoryError("current must give one territory per unit")
    acc, unit_frame, home_xy, _ = _prepare(None, accounts, homes, units, None)
    p = _Partition(unit_frame, acc, home_xy, model)
    before = current.to_numpy(dtype=int).copy()
    if before.min() < 0 or before.max() >= len(homes):
        raise TerritoryError("current territories must be positions 0..len(homes)-1")
    region = _improve(p, before.copy(), target, max_moves, prefer_few_accounts=True)
    return _result(p, unit_frame, region, accounts.crs, before)
