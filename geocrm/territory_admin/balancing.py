"""The balance wizard: choose area, reps and units; preview before/after; apply; undo.

The proposal comes from :func:`territories.balance` (routed-workload estimate, contiguous
and compact territories built from grid cells or imported units). It is stored as a
:class:`BalanceProposal` so the manager applies exactly what they previewed. Apply is one
:class:`geocrm.territory_admin.services.Change`: each rep's territory is reshaped (the
territory the rep already works, when there is one) or created, the replaced territories
no rep keeps are deleted, the accounts are re-assigned, and the revision makes it undoable.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

import territories as terr
from geocrm.access import scope_accounts
from geocrm.colours import safe_colour
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Account, Role, Territory, User
from geocrm.models.territory_admin import BalanceProposal, TerritoryRevision
from geocrm.spatial import SpatialRepository
from geocrm.territory_admin import services as svc
from geocrm.territory_admin.transfer import read_file

UNIT_KINDS = ("hex", "square", "upload")
MAX_UNITS = 5000  # past this the wizard is a batch job, not a page


@dataclass(frozen=True)
class BalanceRequest:
    """What the wizard's form chose; checked by :func:`preview_balance`."""

    territory_ids: tuple[int, ...] = ()
    area_path: Path | None = None  # an uploaded service area instead of the territories
    rep_ids: tuple[int, ...] = ()
    units: str = "hex"
    cell_km: float | None = None
    units_path: Path | None = None
    target: float = 1.10
    # "rebalance": move the fewest units between today's territories; "scratch": new ones.
    mode: str = "scratch"


MODES = ("rebalance", "scratch")


def _fingerprint(items: list[Territory]) -> str:
    digest = hashlib.sha256()
    for t in sorted(items, key=lambda t: t.id):
        digest.update(str(t.id).encode())
        digest.update(shapely.to_wkb(t.geom))
    return digest.hexdigest()


def _area(request: BalanceRequest, user: User) -> tuple[BaseGeometry, list[Territory]]:
    """The service area and the user's territories the proposal replaces."""
    mine = svc.visible_territories(user)
    if request.area_path is not None:
        read = read_file(request.area_path, label="area file")
        area = shapely.make_valid(shapely.union_all(read.frame.geometry.values))
        replaced = [t for t in mine
                    if svc.area_m2(shapely.intersection(t.geom, area)) >= svc.MIN_AREA_M2]
        return area, replaced
    chosen = set(request.territory_ids)
    replaced = [t for t in mine if not chosen or t.id in chosen]
    if chosen - {t.id for t in replaced}:
        raise ValidationError("territories", "choose among your own territories")
    if not replaced:
        raise ValidationError("area", "no territories to balance: draw or import some first")
    return shapely.make_valid(shapely.union_all([t.geom for t in replaced])), replaced


def _reps(rep_ids: tuple[int, ...]) -> list[User]:
    if not rep_ids:
        raise ValidationError("reps", "choose at least one rep")
    found = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(rep_ids)))}
    reps = []
    for rid in rep_ids:
        u = found.get(rid)
        if u is None or u.role != Role.REP or not u.active:
            raise ValidationError("reps", f"user {rid} is not an active rep")
        if u.home_lat is None or u.home_lon is None:
            raise ValidationError("reps", f"{u.name} has no home location: set it first")
        reps.append(u)
    return reps


def _units(request: BalanceRequest, area: BaseGeometry) -> gpd.GeoDataFrame | None:
    if request.units not in UNIT_KINDS:
        raise ValidationError("units", "hex, square or upload")
    if request.units != "upload":
        return None
    if request.units_path is None:
        raise ValidationError("units", "upload a units file (postal areas, municipalities)")
    frame = read_file(request.units_path, label="units file").frame
    clipped = shapely.intersection(frame.geometry.values, area)
    keep = [g for g in (terr.io.polygonal(shapely.make_valid(c)) for c in clipped)
            if g is not None]
    if not keep:
        raise ValidationError("units", "no unit overlaps the service area")
    if len(keep) > MAX_UNITS:
        raise ValidationError("units", f"{len(keep)} units; at most {MAX_UNITS}")
    return gpd.GeoDataFrame(geometry=keep, crs="EPSG:4326")


def _ratio(values: list[float]) -> float | None:
    positive = [v for v in values if v > 0]
    if not positive or len(positive) < len(values):
        return None if not values else math.inf if min(values) <= 0 else None
    return max(values) / min(values)


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)


def preview_balance(user: User, request: BalanceRequest) -> BalanceProposal:
    """Compute a balance and store it for preview; the territories are not touched."""
    if not svc.can_edit(user):
        raise NotFoundError("No such page.")
    if not 1.0 < request.target <= 3.0:
        raise ValidationError("target", "a max/min workload ratio between 1.01 and 3")
    if request.cell_km is not None and not 0.05 <= request.cell_km <= 100:
        raise ValidationError("cell_km", "a cell width between 0.05 and 100 km")
    if request.mode not in MODES:
        raise ValidationError("mode", "rebalance or scratch")
    if request.mode == "rebalance" and request.area_path is not None:
        raise ValidationError("area", "a rebalance starts from your territories, not a file")
    area, replaced = _area(request, user)
    reps = _homes_of(replaced) if request.mode == "rebalance" else _reps(request.rep_ids)
    units = _units(request, area)
    base = scope_accounts(select(Account), user).where(Account.archived.is_(False))
    inside = SpatialRepository(db.session).account_ids_within(area, base=base)
    accounts = svc.accounts_frame(select(Account).where(Account.id.in_(inside))) if inside \
        else svc.accounts_frame(select(Account).where(Account.id < 0))
    homes = gpd.GeoSeries([shapely.Point(u.home_lon, u.home_lat) for u in reps],
                          crs="EPSG:4326")
    if units is None:
        metric_area = svc.area_m2(area)
        cell = request.cell_km * 1000 if request.cell_km else None
        cells = metric_area / (cell**2 if cell else metric_area / (50 * len(reps)))
        if cells > MAX_UNITS * 1.5:
            raise ValidationError("cell_km", f"about {cells:.0f} cells; choose wider cells")
    if request.mode == "rebalance":
        return _preview_rebalance(user, request, area, replaced, reps, units, accounts, homes)
    try:
        result = terr.balance(area, accounts, homes, units=units,
                              cell=request.cell_km * 1000 if request.cell_km else None,
                              shape="square" if request.units == "square" else "hex",
                              target=request.target)
    except terr.TerritoryError as exc:
        raise ValidationError("reps", str(exc)) from exc

    before_rows = _before_rows(replaced, accounts)

    # After: one territory per rep, matched to the territory the rep works today.
    proposed = result.territories
    reused: set[int] = set()
    proposal = []
    taken = {t.name for t in replaced}
    for r, rep in enumerate(reps):
        if r not in proposed.index:
            raise ValidationError("reps", f"no territory could be made for {rep.name}")
        row = proposed.loc[r]
        target = next((t for t in sorted(replaced, key=lambda t: t.id)
                       if t.id not in reused and rep in t.reps), None)
        if target is not None:
            reused.add(target.id)
        name = target.name if target else _fresh_name(f"{rep.name} territory", taken)
        taken.add(name)
        geom, _ = svc.check_polygon(row.geometry, field_name="proposal")
        proposal.append({
            "rep_id": rep.id, "rep_name": rep.name, "territory_id": target.id if target else None,
            "name": name, "geometry": mapping(geom),
            "workload_hours": _num(row["workload_hours"]), "accounts": int(row["accounts"]),
            "compactness": _num(row["compactness"]),
        })

    moved, newly = _moved_accounts(accounts, replaced, proposal)
    stats = {
        "before": before_rows,
        "before_max_min": _num(_ratio([b["workload_hours"] or 0 for b in before_rows]))
        if before_rows else None,
        "after_max_min": _num(result.max_min),
        "contiguous": bool(result.contiguous),
        "moved_accounts": moved,
        "newly_assigned": newly,
        "accounts": len(accounts),
        "units": len(result.units),
        "deleted": [{"id": t.id, "name": t.name} for t in replaced if t.id not in reused],
    }
    return _store(user, request, replaced, proposal, stats)


def _store(user: User, request: BalanceRequest, replaced: list[Territory],
           proposal: list[dict[str, Any]], stats: dict[str, Any]) -> BalanceProposal:
    params = {
        "territory_ids": list(request.territory_ids), "rep_ids": list(request.rep_ids),
        "units": request.units, "cell_km": request.cell_km, "target": request.target,
        "area": "upload" if request.area_path else "territories", "mode": request.mode,
        "fingerprint": _fingerprint(replaced),
    }
    row_ = BalanceProposal(created_by_id=user.id, params=params, proposal=proposal,
                           stats=stats, replaces=[t.id for t in replaced], status="preview")
    db.session.add(row_)
    db.session.flush()
    return row_


def _before_rows(replaced: list[Territory], accounts: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Today's territories in the area, their reps' homes, the same workload estimate."""
    if not replaced:
        return []
    frame = svc.territory_frame(replaced)
    load = terr.workload(frame, accounts, homes=svc.rep_homes(replaced))
    compact = terr.polsby_popper(frame)
    return [{
        "territory_id": t.id, "name": t.name,
        "reps": ", ".join(u.name for u in t.reps) or "—",
        "accounts": int(load.loc[t.id, "accounts"]),
        "workload_hours": _num(load.loc[t.id, "workload_hours"]),
        "compactness": _num(compact.loc[t.id]),
    } for t in replaced]


def _homes_of(replaced: list[Territory]) -> list[User]:
    """Per territory the rep whose home anchors its travel estimate (first rep with a home)."""
    reps = []
    for t in replaced:
        rep = next((u for u in sorted(t.reps, key=lambda u: u.id)
                    if u.home_lat is not None and u.home_lon is not None), None)
        if rep is None:
            raise ValidationError(
                "territories", f"{t.name} has no rep with a home location: assign one first")
        reps.append(rep)
    return reps


def _grid_units(request: BalanceRequest, area: BaseGeometry, k: int) -> gpd.GeoDataFrame:
    series = gpd.GeoSeries([area], crs="EPSG:4326")
    metric = series.estimate_utm_crs()
    area_m = series.to_crs(metric).iloc[0]
    size = request.cell_km * 1000 if request.cell_km else math.sqrt(area_m.area / (50 * k))
    cells = terr.grid(area_m, size, "square" if request.units == "square" else "hex")
    return gpd.GeoDataFrame(geometry=cells, crs=metric).to_crs("EPSG:4326")


def _preview_rebalance(
    user: User, request: BalanceRequest, area: BaseGeometry, replaced: list[Territory],
    reps: list[User], units: gpd.GeoDataFrame | None, accounts: gpd.GeoDataFrame,
    homes: gpd.GeoSeries,
) -> BalanceProposal:
    """Move the fewest units between today's territories to reach the target.

    Each unit starts in the territory holding its representative point. Only units that
    change hands change the map: a territory becomes what it was, minus every unit that
    moved, plus the units it gained; borders elsewhere stay exactly where they were, and
    every territory keeps its name, colour and reps.
    """
    if len(replaced) < 2:
        raise ValidationError("territories", "choose at least two territories to rebalance")
    units = units if units is not None else _grid_units(request, area, len(replaced))
    units = units.reset_index(drop=True)
    grid_units = len(units)
    units, current = _catchments(units, _holders(units, replaced), accounts)
    try:
        result = terr.rebalance(units, pd.Series(current), accounts, homes,
                                target=request.target)
    except terr.TerritoryError as exc:
        raise ValidationError("territories", str(exc)) from exc
    region = result.units["territory"].to_numpy(dtype=int)
    changed = region != current
    moved_geoms = units.geometry.values[changed]
    moved_all = shapely.union_all(moved_geoms) if len(moved_geoms) else None
    moved_area = (terr.io.polygonal(shapely.make_valid(shapely.intersection(moved_all, area)))
                  if moved_all is not None else None)
    proposal = _reshaped(replaced, reps, units, changed, region, moved_all, area, accounts)
    before_rows = _before_rows(replaced, accounts)
    moved, newly = _moved_accounts(accounts, replaced, proposal)
    stats = {
        "mode": "rebalance",
        "before": before_rows,
        "before_max_min": _num(_ratio([b["workload_hours"] or 0 for b in before_rows])),
        "after_max_min": _num(_ratio([p["workload_hours"] or 0 for p in proposal])),
        "contiguous": bool(result.contiguous),
        "moved_accounts": moved,
        "newly_assigned": newly,
        "moved_units": int(changed.sum()),
        # What changes hands, for the preview map (the rest of every border stays put).
        "moved_area": mapping(moved_area) if moved_area is not None else None,
        "accounts": len(accounts),
        "units": len(units),
        "cells": grid_units,
        "deleted": [],
    }
    return _store(user, request, replaced, proposal, stats)


def _holders(units: gpd.GeoDataFrame, replaced: list[Territory]) -> np.ndarray:
    """Each unit's territory today (index into ``replaced``): the one holding its
    representative point, or for a sliver outside every territory the nearest one."""
    frame = svc.territory_frame(replaced)
    points = gpd.GeoDataFrame(geometry=units.geometry.representative_point(), crs="EPSG:4326")
    owner = terr.assign(points, frame)
    position = {t.id: i for i, t in enumerate(replaced)}
    holder = []
    for label, point in zip(owner.tolist(), points.geometry, strict=True):
        if pd.isna(label):
            holder.append(min(range(len(replaced)),
                              key=lambda i: replaced[i].geom.distance(point)))
        else:
            holder.append(position[int(label)])
    return np.asarray(holder, dtype=int)


def _reshaped(
    replaced: list[Territory], reps: list[User], units: gpd.GeoDataFrame, changed: np.ndarray,
    region: np.ndarray, moved_all: BaseGeometry | None, area: BaseGeometry,
    accounts: gpd.GeoDataFrame,
) -> list[dict[str, Any]]:
    """Each territory minus the units it lost plus those it gained, with its workload,
    compactness and the accounts it gains and loses (the rows of the preview table)."""
    proposal = []
    new_geoms = []
    for r, (t, rep) in enumerate(zip(replaced, reps, strict=True)):
        geom = t.geom if moved_all is None else shapely.difference(t.geom, moved_all)
        gained = units.geometry.values[changed & (region == r)]
        if len(gained):  # clipped: grid cells made in metres overhang the outline by mm
            geom = shapely.union(geom, shapely.intersection(shapely.union_all(gained), area))
        geom = terr.io.polygonal(shapely.make_valid(geom))
        if geom is None:
            raise ValidationError("territories", f"{t.name} would be left empty")
        geom, _ = svc.check_polygon(geom, field_name="proposal")
        new_geoms.append(geom)
        proposal.append({
            "rep_id": rep.id, "rep_name": ", ".join(u.name for u in t.reps) or rep.name,
            "territory_id": t.id, "name": t.name, "geometry": mapping(geom),
            "keep_reps": True,
        })
    after = gpd.GeoDataFrame(geometry=new_geoms, index=pd.Index([t.id for t in replaced]),
                             crs="EPSG:4326")
    load = terr.workload(after, accounts, homes=svc.rep_homes(replaced))
    compact = terr.polsby_popper(after)
    now_in = terr.assign(accounts, after)
    was_in = pd.to_numeric(accounts["territory_id"], errors="coerce")
    for p in proposal:
        tid = p["territory_id"]
        p.update(workload_hours=_num(load.loc[tid, "workload_hours"]),
                 accounts=int(load.loc[tid, "accounts"]), compactness=_num(compact.loc[tid]),
                 gains=int(((now_in == tid) & (was_in != tid)).sum()),
                 loses=int(((was_in == tid) & (now_in != tid)).sum()))
    return proposal


def _catchments(units: gpd.GeoDataFrame, current: np.ndarray, accounts: gpd.GeoDataFrame
                ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Units regrouped so that every unit of a territory with accounts holds some.

    :func:`territories.rebalance` moves the units with the fewest accounts first, so a unit
    without accounts costs nothing to move; and moving one always helps a little (less
    area, less travel for the heavier territory). Fed plain grid cells, it strips the
    heavier territory of every empty cell it can reach before it moves one account, and
    the territories end up as ribbons wrapped round each other (Polsby-Popper 0.7 -> 0.05
    on two squares). So each empty unit joins the nearest unit with accounts of the same
    territory, nearest in steps through neighbouring units (a breadth-first search from
    all of them at once, so each group is in one piece): a group moves with its accounts,
    and the border still follows the cells' edges. Units of a territory with no account at
    all stay as they are. Returns the grouped units (positions 0..m-1) and their territory.
    """
    n = len(units)
    where = terr.assign(accounts, units[["geometry"]]) if len(accounts) else pd.Series(
        [], dtype=float)
    placed = where.dropna().astype(int).to_numpy()
    count = np.bincount(placed, minlength=n) if len(placed) else np.zeros(n, dtype=int)
    metric = units.geometry.to_crs(units.estimate_utm_crs()).values
    # Neighbours share a stretch of border: the same test as territories.balancing's.
    grown = shapely.buffer(metric, 0.5, quad_segs=2)
    a, b = shapely.STRtree(grown).query(grown, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.area(shapely.intersection(grown[a], grown[b])) > 2.0
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for i, j in zip(a[shared].tolist(), b[shared].tolist(), strict=True):
        if current[i] == current[j]:
            neighbours[i].append(j)
            neighbours[j].append(i)
    group = np.full(n, -1, dtype=int)
    queue = deque(int(u) for u in np.nonzero(count > 0)[0])
    for u in queue:
        group[u] = u
    while queue:
        u = queue.popleft()
        for v in sorted(neighbours[u]):
            if group[v] < 0:
                group[v] = group[u]
                queue.append(v)
    alone = group < 0
    group[alone] = np.nonzero(alone)[0]
    labels, position = np.unique(group, return_inverse=True)
    if len(labels) == n:
        return units, current
    geoms = [shapely.union_all(units.geometry.values[position == g]) for g in range(len(labels))]
    grouped = gpd.GeoDataFrame(geometry=geoms, crs=units.crs)
    return grouped, current[labels]


def _fresh_name(base: str, taken: set[str]) -> str:
    name, n = base[:110], 2
    exists = set(db.session.scalars(select(Territory.name).where(
        Territory.name.like(f"{name}%"))))
    while name in taken or name in exists:
        name = f"{base[:110]} {n}"
        n += 1
    return name


def _moved_accounts(accounts: gpd.GeoDataFrame, replaced: list[Territory],
                    proposal: list[dict[str, Any]]) -> tuple[int, int]:
    """Accounts whose rep changes (their new rep is not among their territory's reps), and
    accounts that had no territory and get one."""
    if not len(accounts) or not proposal:
        return 0, 0
    polys = gpd.GeoDataFrame({"rep": [p["rep_id"] for p in proposal]},
                             geometry=[shape(p["geometry"]) for p in proposal], crs="EPSG:4326")
    where = terr.assign(accounts, polys)
    reps_of = {t.id: {u.id for u in t.reps} for t in replaced}
    moved = newly = 0
    for old_tid, new_pos in zip(accounts["territory_id"].tolist(), where.tolist(), strict=True):
        if pd.isna(new_pos):
            continue
        new_rep = int(polys.iloc[int(new_pos)]["rep"])
        if old_tid is None or pd.isna(old_tid):
            newly += 1
        elif new_rep not in reps_of.get(int(old_tid), set()):
            moved += 1
    return moved, newly


def get_proposal_or_404(proposal_id: int, user: User) -> BalanceProposal:
    """A proposal of this user's; others' answer 404."""
    found = db.session.get(BalanceProposal, proposal_id)
    if found is None or not svc.can_edit(user) or found.created_by_id != user.id:
        raise NotFoundError(f"No proposal {proposal_id}.")
    return found


def apply_balance(user: User, proposal_id: int) -> TerritoryRevision:
    """Reshape/create one territory per rep, delete the rest, re-assign: one transaction.

    Flushes; the view or the background job's runner commits.
    """
    proposal = get_proposal_or_404(proposal_id, user)
    if proposal.status != "preview":
        raise ConflictError("This proposal was already applied.")
    replaced = [svc.get_editable_or_404(i, user) for i in proposal.replaces
                if db.session.get(Territory, i) is not None]
    if (len(replaced) != len(proposal.replaces)
            or _fingerprint(replaced) != proposal.params.get("fingerprint")):
        raise ConflictError("The territories changed since this preview: preview again.")
    by_id = {t.id: t for t in replaced}
    reps = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_([p["rep_id"] for p in proposal.proposal])))}
    change = svc.Change("balance", user)
    count = db.session.scalar(select(func.count(Territory.id))) or 0
    kept = set()
    for i, p in enumerate(proposal.proposal):
        geom = shape(p["geometry"])
        rep = reps.get(p["rep_id"])
        if rep is None:
            raise ConflictError("A rep of this proposal no longer exists: preview again.")
        if p["territory_id"] is not None and p["territory_id"] in by_id:
            t = change.touch(by_id[p["territory_id"]])
            t.set_geometry(geom)
            kept.add(t.id)
        else:
            manager = user.id if user.role == Role.MANAGER else (
                replaced[0].manager_id if replaced else None)
            t = change.create(name=svc.check_name(p["name"]), color=safe_colour(
                None, count + i), priority=0, manager_id=manager, geom=geom)
        if not p.get("keep_reps"):
            t.reps = [rep]
    for t in replaced:
        if t.id not in kept:
            change.delete(t)
    ratio = proposal.stats.get("after_max_min")
    verb = "rebalanced" if proposal.params.get("mode") == "rebalance" else "balanced"
    revision = change.record(
        f"{verb} {len(proposal.proposal)} territories (max/min workload {ratio})")
    proposal.status = "applied"
    proposal.revision_id = revision.id
    db.session.flush()
    return revision
