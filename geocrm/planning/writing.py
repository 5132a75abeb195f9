"""Writing a run's answer: draft ``RoutePlan`` rows replace the run's old drafts, and the
typed result is stored once — inside the caller's transaction (flush, never commit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete

import routing
from geocrm.extensions import db
from geocrm.models import Account, PlanStatus, RoutePlan, RouteStop, User
from geocrm.models.planning import PlanRun
from geocrm.planning.base import rep_key, to_utc
from geocrm.planning.problem import DayProblem, RepStart
from geocrm.planning.request import PlanRequest
from geocrm.planning.results import PlanResult
from geocrm.region.travel import route_legs, travel_notes

Solved = Sequence[tuple[DayProblem, routing.Plan | None]]


def write_run(run: PlanRun, req: PlanRequest, reps: Sequence[User], solved: Solved,
              result: PlanResult, tz: ZoneInfo) -> dict[str, Any]:
    """Replace the run's drafts with ``solved`` and store ``result``; returns the job's
    summary (run id, visits served, visits left out)."""
    write_plans(run, req, reps, solved, tz)
    run.result = result.to_json()
    db.session.flush()
    return {"run_id": run.id, "served": result.served, "unassigned": len(result.unassigned)}


def write_plans(run: PlanRun, req: PlanRequest, reps: Sequence[User], solved: Solved,
                tz: ZoneInfo) -> None:
    """Replace the run's draft plans with the new ones (inside the job's transaction)."""
    old = [p.id for p in run.plans if p.status == PlanStatus.DRAFT]
    if old:
        db.session.execute(delete(RouteStop).where(RouteStop.plan_id.in_(old)))
        db.session.execute(delete(RoutePlan).where(RoutePlan.id.in_(old)))
        db.session.expire(run, ["plans"])
    by_key = {rep_key(r.id): r for r in reps}
    pinned = {p.account_id for p in req.pins}
    for dp, plan in solved:
        if plan is None:
            continue
        speeds = {r.id: r.speed_kmh for r in dp.problem.reps} if dp.problem else {}
        # Locks stay set on the new drafts (geocrm.planning.locks): a locked route stays
        # locked, a stop locked at its place stays locked there.
        locked_routes = {r.id for r in dp.problem.reps if r.route_locked} if dp.problem else set()
        placed = ({v.id for v in dp.problem.visits if v.position is not None}
                  if dp.problem else set())
        for route in plan.routes:
            rep = by_key[route.rep_id]
            rp = RoutePlan(
                rep_id=rep.id, plan_date=dp.day, status=PlanStatus.DRAFT,
                created_by_id=run.created_by_id, run_id=run.id,
                distance_m=float(route.distance_m), duration_s=int(route.end - route.start),
                params=plan_params(rep, route, speeds.get(route.rep_id, 30.0),
                                   dp.starts.get(rep.id)),
                unassigned=[], notes=travel_notes(plan.notes),
                route_locked=route.rep_id in locked_routes,
            )
            rp.params.update(_road_legs(rep, [dp.accounts[s.visit_id] for s in route.stops],
                                        dp.starts.get(rep.id), speeds.get(route.rep_id, 30.0)))
            for seq, s in enumerate(route.stops, start=1):
                account = dp.accounts[s.visit_id]
                rp.stops.append(RouteStop(
                    seq=seq, account_id=account.id,
                    arrival=to_utc(dp.day, s.arrival, tz), start=to_utc(dp.day, s.start, tz),
                    departure=to_utc(dp.day, s.departure, tz),
                    travel_s=s.leg_travel_s, distance_m=float(s.leg_distance_m),
                    pinned=account.id in pinned, status="planned",
                    position_locked=(s.visit_id in placed
                                     and route.rep_id not in locked_routes),
                ))
            db.session.add(rp)
    db.session.flush()


def _road_legs(rep: User, accounts: Sequence[Account], start: RepStart | None,
               speed_kmh: float) -> dict[str, Any]:
    """The day's legs along the region's roads for the plan map (start, stops, home), with
    the stop order they were drawn for (a later edit or re-plan makes them stale: the map
    then falls back to straight lines). Nothing when plans do not drive on a region."""
    if not accounts:
        return {}
    home = routing.Location(float(rep.home_lat), float(rep.home_lon))
    points = [start.position if start is not None else home]
    points += [routing.Location(float(a.lat), float(a.lon)) for a in accounts]
    legs = route_legs(points + [home], speed_kmh)
    return {"legs": legs, "legs_for": [a.id for a in accounts]} if legs else {}


def plan_params(rep: User, route: routing.RepRoute, speed_kmh: float,
                start: RepStart | None = None) -> dict[str, Any]:
    """What a plan keeps of how it was made: home, shift, lunch, totals, and — when planned
    after the shift began — where and when it starts instead, in words."""
    out: dict[str, Any] = {
        "home": [rep.home_lat, rep.home_lon],
        "shift": [rep.work_start_min * 60, rep.work_end_min * 60],
        "lunch": [rep.lunch_start_min * 60 if rep.lunch_start_min is not None else None,
                  (rep.lunch_minutes or 0) * 60],
        "day_start": route.start,
        "day_end": route.end,
        "return_distance_m": route.return_distance_m,
        "return_travel_s": route.return_travel_s,
        "wait_s": route.wait_s,
        "service_s": route.service_s,
        "speed_kmh": speed_kmh,
    }
    if start is not None:
        out["start_at"] = start.at_s
        out["start"] = [start.position.lat, start.position.lon]
        out["start_note"] = start.note(rep)
    return out
