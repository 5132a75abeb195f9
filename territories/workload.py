"""How much work a territory really takes: visits by cadence, their length, and travel.

For a territory with accounts visited ``v`` times per period (period / cadence each),
``H_v`` hours of visiting, and area ``A``:

* the visits are spread over ``d = ceil(H_v / visit_hours_per_day)`` working days;
* each day's tour through ``n = v / d`` stops in area ``A`` is estimated by the
  Beardwood–Halton–Hammersley law, ``L = 0.7124 · sqrt(n · A)``, times a road circuity
  factor, plus the round trip from the rep's home to the territory's centre;
* travel hours are ``d · L / speed``; the workload is ``H_v`` plus travel hours.

It is an estimate that a routed plan refines, but unlike account counts or revenue it
grows with what makes a territory hard: frequent visits, long visits and distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from territories.assignment import assign
from territories.diagnose import to_metric
from territories.errors import TerritoryError

BHH = 0.7124


@dataclass(frozen=True)
class WorkloadModel:
    """The assumptions of the estimate; every one can be set."""

    period_days: float = 28.0
    default_cadence_days: float = 28.0
    default_visit_minutes: float = 30.0
    speed_kmh: float = 30.0
    circuity: float = 1.3
    visit_hours_per_day: float = 6.0

    def __post_init__(self) -> None:
        for name in ("period_days", "default_cadence_days", "speed_kmh", "circuity",
                     "visit_hours_per_day"):
            if getattr(self, name) <= 0:
                raise TerritoryError(f"{name} must be positive")


def travel_hours(visits: float, visit_hours: float, area_km2: float, home_km: float,
                 model: WorkloadModel) -> float:
    """Estimated travel hours per period for one territory (see the module docstring)."""
    if visits <= 0:
        return 0.0
    days = max(1, math.ceil(visit_hours / model.visit_hours_per_day))
    per_day = visits / days
    tour_km = BHH * math.sqrt(per_day * max(area_km2, 0.0)) * model.circuity
    return days * (tour_km + 2 * home_km * model.circuity) / model.speed_kmh


def account_visits(accounts: pd.DataFrame, model: WorkloadModel) -> tuple[np.ndarray, np.ndarray]:
    """Visits per period and visit hours per period for each account."""
    cadence = (pd.to_numeric(accounts["cadence_days"], errors="coerce")
               if "cadence_days" in accounts else pd.Series(np.nan, index=accounts.index))
    minutes = (pd.to_numeric(accounts["visit_minutes"], errors="coerce")
               if "visit_minutes" in accounts else pd.Series(np.nan, index=accounts.index))
    cadence = cadence.fillna(model.default_cadence_days).clip(lower=1).to_numpy(float)
    minutes = minutes.fillna(model.default_visit_minutes).clip(lower=0).to_numpy(float)
    visits = model.period_days / cadence
    return visits, visits * minutes / 60.0


def workload(
    territories: gpd.GeoDataFrame,
    accounts: gpd.GeoDataFrame,
    *,
    homes: gpd.GeoSeries | None = None,
    model: WorkloadModel | None = None,
) -> pd.DataFrame:
    """Per territory: accounts, value, visits, visit hours, travel hours, workload hours.

    ``accounts`` may carry ``cadence_days``, ``visit_minutes`` and ``value`` columns;
    ``homes`` (indexed like ``territories``) are the reps' start points.
    """
    model = model or WorkloadModel()
    where = assign(accounts, territories)
    visits, hours = account_visits(accounts, model)
    value = (pd.to_numeric(accounts["value"], errors="coerce").fillna(0).to_numpy(float)
             if "value" in accounts else np.zeros(len(accounts)))
    frame = pd.DataFrame({"t": where.to_numpy(), "visits": visits, "hours": hours,
                          "value": value, "n": 1})
    sums = frame.dropna(subset=["t"]).groupby("t")[["n", "visits", "hours", "value"]].sum()
    metric = to_metric(territories)
    areas = metric.geometry.area / 1e6
    centres = metric.geometry.centroid
    home_m = None
    if homes is not None:
        home_m = homes.to_crs(metric.crs)
    rows = []
    for label in territories.index:
        n, v, h, val = (sums.loc[label].tolist() if label in sums.index else [0, 0.0, 0.0, 0.0])
        home_km = 0.0
        if home_m is not None and label in home_m.index and home_m.loc[label] is not None:
            home_km = float(home_m.loc[label].distance(centres.loc[label])) / 1000
        travel = travel_hours(v, h, float(areas.loc[label]), home_km, model)
        rows.append({"territory": label, "accounts": int(n), "value": val, "visits": v,
                     "visit_hours": h, "travel_hours": travel, "workload_hours": h + travel})
    return pd.DataFrame(rows).set_index("territory")
