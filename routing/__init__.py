"""Visit-route planning on OR-Tools: a pure library (no Flask, no database).

``solve(problem) -> Plan`` plans one day for one or more reps; every visit left out comes
back with its reason.
"""

from routing.errors import ModelError, RoutingError
from routing.matrix import GreatCircle, Matrices, OsrmTable, TravelProvider, haversine_matrix
from routing.model import (
    Break,
    Location,
    Plan,
    Problem,
    Reason,
    Rep,
    RepRoute,
    Stop,
    TimeWindow,
    Unassigned,
    Visit,
)
from routing.solver import SolveParams, VrptwResult, solve, solve_vrptw

__all__ = [
    "Break", "GreatCircle", "Location", "Matrices", "ModelError", "OsrmTable", "Plan", "Problem",
    "Reason", "Rep", "RepRoute", "RoutingError", "SolveParams", "Stop", "TimeWindow",
    "TravelProvider", "Unassigned", "Visit", "VrptwResult", "haversine_matrix", "solve",
    "solve_vrptw",
]
