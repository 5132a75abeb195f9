"""The planning job: read the run's request, plan every day (or spread by cadence), write
the drafts and the result — all or nothing, committed by :func:`geocrm.jobs.run_job`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import routing
from geocrm import jobs
from geocrm.clock import local_zone
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.models import Account, User, utcnow
from geocrm.models.planning import PlanRun
from geocrm.planning import progress
from geocrm.planning.base import NOT_PLANNED, local_now, reason_text
from geocrm.planning.cadence import plan_by_cadence
from geocrm.planning.locks import RunLocks, apply_locks
from geocrm.planning.notes import (
    english,
    from_library,
    is_note,
    library_notes,
    note,
    unique,
)
from geocrm.planning.problem import DayProblem, build_day_problem, solve_params, starts_now
from geocrm.planning.request import PlanRequest, load_accounts, load_reps
from geocrm.planning.results import DaySummary, LeftOutVisit, PlanResult
from geocrm.planning.writing import write_run
from geocrm.region.travel import travel_provider


def plan_run_job(run_id: int) -> dict[str, Any]:
    """Background job: plan every day of the run and write its draft plans, all or nothing.

    Days are planned in order; a visit served on one day is not offered again later in the
    range. What is never served is reported once, with the reason from the last day tried.
    Draft plans from an earlier run of the same request are replaced in the same transaction.
    Today, once a rep's shift has begun, their day starts now (and the plan says so).
    """
    run = db.session.get(PlanRun, run_id)
    if run is None:
        raise NotFoundError(f"No planning run {run_id}.")
    tz = local_zone()
    req = PlanRequest.of_run(run)
    reps = load_reps(req)
    accounts = load_accounts(req)
    limit, search = solve_params()
    if req.by_cadence:
        solved, result = plan_by_cadence(req, reps, accounts, limit, search, tz, local_now(tz))
    else:
        solved, result = plan_days(req, reps, accounts, limit, search, local_now(tz))
    jobs.report_progress(0.95, progress.SAVING)
    return write_run(run, req, reps, solved, result, tz)


def plan_days(req: PlanRequest, reps: Sequence[User], accounts: Sequence[Account],
              limit: float, search: routing.SolveParams, now: datetime,
              ) -> tuple[list[tuple[DayProblem, routing.Plan | None]], PlanResult]:
    """Solve the request's days one after the other; what one day serves is not offered
    again. Returns each day's problem and plan, and the run's result."""
    days = req.days
    pins = req.pin_map
    locks = RunLocks.from_json(req.locks)
    remaining = list(accounts)
    last_reason: dict[int, tuple[str, str, Any]] = {}
    notes: list[Any] = []
    summaries: list[DaySummary] = []
    solved: list[tuple[DayProblem, routing.Plan | None]] = []
    jobs.report_progress(0.02, progress.counted(len(accounts), len(reps), len(days)))
    for i, day in enumerate(days):
        jobs.report_progress(0.05 + 0.85 * i / len(days),
                             progress.planning_day(day, len(remaining)))
        dp = apply_locks(build_day_problem(day, reps, remaining, pins,
                                           starts_now(day, reps, now)), locks)
        plan = None
        if dp.problem is not None:
            plan = routing.solve(dp.problem, time_limit=limit if dp.problem.visits else 0.1,
                                 params=search, provider=travel_provider())
        solved.append((dp, plan))
        for account, code, text in dp.left_out:
            last_reason[account.id] = (day.isoformat(), code, text)
        served: set[int] = set()
        if plan is not None:
            for u in plan.unassigned:
                last_reason[dp.accounts[u.visit_id].id] = (day.isoformat(), u.reason.value,
                                                           from_library(reason_text(u)))
            served = {dp.accounts[v].id for v in plan.served}
            notes.extend(note("on_day", day=day.isoformat(), note=n)
                         for n in library_notes(plan.notes))
        notes.extend(note("on_day", day=day.isoformat(), note=n) for n in dp.notes)
        for aid in served:
            last_reason.pop(aid, None)
        remaining = [a for a in remaining if a.id not in served]
        summaries.append(DaySummary(
            day.isoformat(), len(dp.problem.reps) if dp.problem else 0,
            len(dp.problem.visits) if dp.problem else 0, len(served),
            round(plan.seconds, 2) if plan else 0.0))
    unassigned = []
    for a in remaining:  # already in priority order
        d, code, why = last_reason.get(a.id, ("", NOT_PLANNED, note(NOT_PLANNED)))
        unassigned.append(LeftOutVisit(a.id, a.name, d, code, english(why), why)
                          if is_note(why) else LeftOutVisit(a.id, a.name, d, code, str(why)))
    return solved, PlanResult(tuple(unassigned), tuple(unique(notes)), tuple(summaries),
                              limit, "days", utcnow().isoformat() + "Z")


