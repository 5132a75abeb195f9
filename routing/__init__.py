"""Visit-route planning on OR-Tools: a pure library (no Flask, no database).

Entry points:

* ``solve(problem) -> Plan`` plans one day for one or more reps; every visit left out comes
  back with its reason. Large team days are split by territory (the plan's notes say so).
  The search keeps improving until the time limit (OR-Tools' iterated local search with
  ruin-and-recreate) and, with PyVRP installed, a second process plans the day too; its
  plan is used only after OR-Tools' model has checked it (``SolveParams`` ``ils``,
  ``workers``, ``main_engine``; ``routing.search`` explains the design).
* Every public function checks its inputs first and raises ``ModelError`` naming the field
  (``routing.checks``): nothing reaches OR-Tools that could abort the process.
* ``plan_week(WeekProblem) -> WeekPlan`` places cadence visits (weekly, fortnightly,
  monthly, N per month) on days, balanced and geographically tight, then routes every day.
* ``replan(rep, remaining, now=..., position=..., current_order=...) -> Replan`` re-plans the
  rest of a day, keeping the rep's order unless a new one is clearly better, and says what
  changed.
* Locks: ``Visit.position`` keeps a visit at that stop of its pinned rep's route and
  ``Rep.route_locked`` keeps a rep's route exactly as locked; the rest is re-optimised.
  ``check_order(rep, visits)`` drives a planner's manual order and names every rule it
  breaks (late, overtime, break, too many) as structured ``Violation`` records.
* Travel providers: ``GreatCircle`` (default), ``OsrmTable`` (an OSRM-compatible service),
  ``ValhallaMatrix`` (a Valhalla server; both are a ``RoadService``, which also draws legs),
  ``RoadNetwork`` (a graph built from an OpenStreetMap extract file).
"""

from routing.errors import ModelError, RoutingError
from routing.manual import OrderCheck, Violation, ViolationKind, check_order
from routing.matrix import (
    GreatCircle,
    Matrices,
    OsrmTable,
    RoadService,
    TravelProvider,
    haversine_matrix,
)
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
from routing.notes import Note
from routing.osrm_route import RouteLeg, osrm_route
from routing.replan import Change, ChangeKind, KeepOrder, Replan, replan, rest_of_day
from routing.roadnet import RoadNetwork
from routing.solver import SolveParams, VrptwResult, solve, solve_vrptw
from routing.valhalla import ValhallaMatrix, decode_polyline
from routing.weeklocks import WeekLock
from routing.weekly import (
    Account,
    Cadence,
    DayPlan,
    Occurrence,
    Placement,
    RepWeek,
    Unplaced,
    WeekPlan,
    WeekProblem,
    WeekReason,
    occurrences,
    plan_week,
)

__all__ = [
    "Account", "Break", "Cadence", "Change", "ChangeKind", "DayPlan", "GreatCircle",
    "KeepOrder", "Location", "Matrices", "ModelError", "Note", "Occurrence", "OsrmTable",
    "Placement", "Plan", "Problem", "Reason", "Rep", "RepRoute", "RepWeek", "Replan",
    "RoadNetwork", "RoadService", "RouteLeg", "RoutingError", "osrm_route",
    "SolveParams", "Stop", "TimeWindow", "TravelProvider", "Unassigned", "Unplaced", "Visit",
    "VrptwResult", "WeekLock", "WeekPlan", "WeekProblem", "WeekReason", "haversine_matrix",
    "occurrences", "OrderCheck", "Violation", "ViolationKind", "check_order",
    "ValhallaMatrix", "decode_polyline", "plan_week", "replan", "rest_of_day", "solve",
    "solve_vrptw",
]
