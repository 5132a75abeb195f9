"""Territories: read and repair, assign points, diagnose, estimate workload, balance.

A pure library over geopandas and shapely: no Flask, no database. Values in, values out.
"""

from territories.assignment import AssignReport, assign, assign_report
from territories.balancing import BalanceResult, balance, grid, rebalance
from territories.diagnose import Diagnosis, diagnose, gaps, overlaps, parts, polsby_popper
from territories.errors import CRSError, GeometryError, TerritoryError
from territories.io import (
    ALL_LAYERS,
    ReadResult,
    polygon_layers,
    read_territories,
    repair,
    write_territories,
)
from territories.workload import WorkloadModel, travel_hours, workload

__all__ = [
    "ALL_LAYERS",
    "AssignReport",
    "BalanceResult",
    "CRSError",
    "Diagnosis",
    "GeometryError",
    "ReadResult",
    "TerritoryError",
    "WorkloadModel",
    "assign",
    "assign_report",
    "balance",
    "diagnose",
    "gaps",
    "grid",
    "overlaps",
    "parts",
    "polsby_popper",
    "polygon_layers",
    "read_territories",
    "rebalance",
    "repair",
    "travel_hours",
    "workload",
    "write_territories",
]
