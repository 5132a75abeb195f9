"""The balance wizard's proposal: what the form asked (:class:`BalanceRequest`), the numbers
the preview shows before and after (workload, max/min ratio, accounts that change rep), and
storing it as a :class:`BalanceProposal` with a fingerprint of the territories it replaces, so
the manager applies exactly what they previewed (:mod:`~geocrm.territory_admin.balancing`
builds a proposal from scratch, :mod:`~geocrm.territory_admin.rebalancing` by moving units).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import shape

import territories as terr
from geocrm.extensions import db
from geocrm.models import Territory, User
from geocrm.models.territory_admin import BalanceProposal
from geocrm.region.travel import workload_model
from geocrm.territory_admin import services as svc

UNIT_KINDS = ("hex", "square", "upload")
MAX_UNITS = 5000  # past this the wizard is a batch job, not a page


@dataclass(frozen=True)
class BalanceRequest:
    """What the wizard's form chose; checked by
    :func:`~geocrm.territory_admin.balancing.preview_balance`."""

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


def fingerprint(items: list[Territory]) -> str:
    """The territories' ids and exact shapes: apply refuses a preview they no longer match."""
    digest = hashlib.sha256()
    for t in sorted(items, key=lambda t: t.id):
        digest.update(str(t.id).encode())
        digest.update(shapely.to_wkb(t.geom))
    return digest.hexdigest()


def workload_ratio(values: list[float]) -> float | None:
    """Max/min of the workloads; infinite when one is zero, ``None`` for no territories."""
    positive = [v for v in values if v > 0]
    if not positive or len(positive) < len(values):
        return None if not values else math.inf if min(values) <= 0 else None
    return max(values) / min(values)


def rounded(value: float | None) -> float | None:
    """A number for the stored JSON: three decimals, ``None`` for missing or infinite."""
    return None if value is None or not math.isfinite(value) else round(float(value), 3)


def store_proposal(user: User, request: BalanceRequest, replaced: list[Territory],
           proposal: list[dict[str, Any]], stats: dict[str, Any]) -> BalanceProposal:
    """The preview, stored (flushed) with the request and the fingerprint of ``replaced``."""
    params = {
        "territory_ids": list(request.territory_ids), "rep_ids": list(request.rep_ids),
        "units": request.units, "cell_km": request.cell_km, "target": request.target,
        "area": "upload" if request.area_path else "territories", "mode": request.mode,
        "fingerprint": fingerprint(replaced),
    }
    row_ = BalanceProposal(created_by_id=user.id, params=params, proposal=proposal,
                           stats=stats, replaces=[t.id for t in replaced], status="preview")
    db.session.add(row_)
    db.session.flush()
    return row_


def before_table(replaced: list[Territory], accounts: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Today's territories in the area, their reps' homes, the same workload estimate."""
    if not replaced:
        return []
    frame = svc.territory_frame(replaced)
    load = terr.workload(frame, accounts, homes=svc.rep_homes(replaced),
                         model=workload_model())
    compact = terr.polsby_popper(frame)
    return [{
        "territory_id": t.id, "name": t.name,
        "reps": ", ".join(u.name for u in t.reps) or "—",
        "accounts": int(load.loc[t.id, "accounts"]),
        "workload_hours": rounded(load.loc[t.id, "workload_hours"]),
        "compactness": rounded(compact.loc[t.id]),
    } for t in replaced]


def moved_accounts(accounts: gpd.GeoDataFrame, replaced: list[Territory],
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
