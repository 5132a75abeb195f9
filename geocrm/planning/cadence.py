"""Spreading visits over the run's days by each account's cadence (``routing.plan_week``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import routing
from geocrm import jobs
from geocrm.core.skills import skill_keys
from geocrm.models import Account, User, utcnow
from geocrm.planning import progress
from geocrm.planning.base import (
    APP_REASON_TEXT,
    DAY,
    NO_CADENCE,
    NOT_COVERED,
    reason_text,
    rep_key,
    visit_key,
)
from geocrm.planning.hours import windows_on
from geocrm.planning.locks import keep_week_locks, week_locks
from geocrm.planning.lockset import RunLocks
from geocrm.planning.notes import english, from_library, library_notes, note, unique
from geocrm.planning.problem import (
    DAY_OVER,
    DAY_OVER_TEXT,
    DayProblem,
    account_visit,
    routing_rep,
    skill_set,
    starts_now,
)
from geocrm.planning.request import PlanRequest
from geocrm.planning.results import DaySummary, LeftOutVisit, PlanResult
from geocrm.planning.scope import rep_territory_ids
from geocrm.region.travel import travel_provider

#: The weekly planner's own reasons (routing.WeekReason), put into words by their code.
WEEK_REASONS = frozenset(r.value for r in routing.WeekReason)
CADENCE_NAMES = {7: "weekly", 14: "fortnightly"}
WeekHours = tuple[tuple[routing.TimeWindow, ...], ...]


def cadence_of(days: int | None) -> routing.Cadence | None:
    """``Account.cadence_days`` as a routing cadence (None: the account has none)."""
    if not days or days < 1:
        return None
    if days in CADENCE_NAMES:
        return getattr(routing.Cadence, CADENCE_NAMES[days])()  # type: ignore[no-any-return]
    if 28 <= days <= 31:
        return routing.Cadence.monthly()
    return routing.Cadence(float(days), f"every {days} days")


def weekly_hours(value: str | None, start: date) -> WeekHours | None:
    """Opening windows Monday..Sunday from the week starting ``start`` (None: open all day)."""
    week: dict[int, tuple[routing.TimeWindow, ...]] = {}
    for i in range(7):
        day = start + timedelta(days=i)
        windows = windows_on(value, day)
        if windows is None:
            return None
        week[day.weekday()] = tuple(routing.TimeWindow(a, b) for a, b in windows)
    return tuple(week[w] for w in range(7))


def _week_accounts(req: PlanRequest, reps: Sequence[User], accounts: Sequence[Account],
                   tz: ZoneInfo) -> tuple[list[routing.Account], dict[str, Account],
                                          list[LeftOutVisit]]:
    """Each account as a cadence account of the chosen rep who works its territory (or owns
    it); those without a cadence or a rep come back as left out, with the reason."""
    territories_by_rep = rep_territory_ids(r.id for r in reps)
    reps_for_territory: dict[int, list[User]] = {}
    for r in reps:
        for tid in sorted(territories_by_rep[r.id]):
            reps_for_territory.setdefault(tid, []).append(r)

    def rep_for_territory(tid: int | None, needed: frozenset[str]) -> int | None:
        """The first rep working ``tid`` with the skills needed (else the first: the week
        then leaves the account out, saying no rep has the skills)."""
        able = reps_for_territory.get(tid if tid is not None else -1, [])
        return next((r.id for r in able if needed <= skill_keys(r.skills)),
                    able[0].id if able else None)

    chosen = {r.id for r in reps}
    pins = req.pin_map
    left_out: list[LeftOutVisit] = []
    week_accounts = []
    by_key: dict[str, Account] = {}
    for a in accounts:
        cadence = cadence_of(a.cadence_days)
        pin = pins.get(a.id)
        rep_id = pin[0] if pin else rep_for_territory(a.territory_id,
                                                      skill_keys(a.required_skills))
        if rep_id is None and a.owner_id in chosen:
            rep_id = a.owner_id
        if cadence is None or rep_id is None:
            code = NO_CADENCE if cadence is None else NOT_COVERED
            left_out.append(LeftOutVisit(a.id, a.name, "", code, APP_REASON_TEXT[code]))
            continue
        key = visit_key(a.id)
        by_key[key] = a
        last = a.last_visit_at
        week_accounts.append(routing.Account(
            id=key,
            location=routing.Location(float(a.lat), float(a.lon)),
            duration=max(0, int(a.visit_minutes or 0)) * 60,
            cadence=cadence,
            last_visit=None if last is None else last.replace(tzinfo=UTC).astimezone(tz).date(),
            hours=weekly_hours(a.opening_hours, req.start),
            priority=min(5, max(1, int(a.priority or 3))),
            rep_id=rep_key(rep_id),
            pinned_days=(pin[1],) if pin else (),
            skills=skill_set(a.required_skills),
        ))
    return week_accounts, by_key, left_out


def _today_locks(day: date, locks: Sequence[routing.WeekLock], present: set[str],
                ) -> tuple[dict[str, tuple[str, int]], set[str]]:
    """Today's locks for the afternoon re-solve: visit key → (rep key, stop number), and the
    reps whose whole route is locked. A locked route is renumbered 1, 2, 3... over the visits
    still in it (as a day run's ``apply_locks`` does), so one that has gone leaves no gap."""
    today = [x for x in locks if x.day == day]
    routes = {x.rep_id for x in today if x.route}
    held = {aid: (x.rep_id, pos) for x in today for aid, pos in x.positions if aid in present}
    for rep in routes:
        mine = sorted((pos, aid) for aid, (r, pos) in held.items() if r == rep)
        for i, (_, aid) in enumerate(mine, start=1):
            held[aid] = (rep, i)
    return held, routes


def _today_from_now(dp: DayProblem, plan: routing.Plan, reps: Sequence[User], now: datetime,
                    limit: float, search: routing.SolveParams,
                    locks: Sequence[routing.WeekLock] = (),
                    ) -> tuple[routing.Plan, list[LeftOutVisit]]:
    """Today's cadence routes again, from now for the reps whose shift has begun: each keeps
    the visits the week placed on them today, and today's locks hold as in the week (a
    locked stop at its stop number, a locked route exactly); what no longer fits is left
    out, with why."""
    starts = starts_now(dp.day, reps, now)
    if not starts:
        return plan, []
    held, locked_routes = _today_locks(dp.day, locks,
                                       {s.visit_id for r in plan.routes for s in r.stops})
    by_rep = {rep_key(r.id): r for r in reps}
    day_reps, gone = [], []
    for route in plan.routes:
        user = by_rep[route.rep_id]
        rep = routing_rep(user)
        start = starts.get(user.id)
        if start is not None and start.at_s >= rep.shift.end:
            gone += [s.visit_id for s in route.stops]
            continue
        if start is not None:
            rep = routing.rest_of_day(rep, now=start.at_s, position=start.position.location)
            dp.starts[user.id] = start
        if rep.id in locked_routes:
            rep = replace(rep, route_locked=True)
        day_reps.append(rep)
    visits = []
    off_route: list[LeftOutVisit] = []
    for route in plan.routes:
        for s in route.stops:
            if s.visit_id not in gone:
                a = dp.accounts[s.visit_id]
                if route.rep_id in locked_routes and s.visit_id not in held:
                    # Not one of the locked route's stops: that route takes nothing else.
                    why = note("route_locked", rep=by_rep[route.rep_id].name)
                    off_route.append(LeftOutVisit(a.id, a.name, dp.day.isoformat(),
                                                  "route_locked", english(why), why))
                    continue
                hours = windows_on(a.opening_hours, dp.day)
                v = account_visit(a, [(0, DAY)] if not hours else hours,
                                  pinned_rep=route.rep_id)
                lock = held.get(s.visit_id)
                if lock is not None and lock[0] == route.rep_id:
                    v = replace(v, position=lock[1], must_visit=True)
                visits.append(v)
    left = [LeftOutVisit(dp.accounts[v].id, dp.accounts[v].name, dp.day.isoformat(), DAY_OVER,
                         DAY_OVER_TEXT) for v in gone] + off_route
    if not day_reps:
        return routing.Plan((), (), 0, 0.0), left
    dp.problem = routing.Problem(tuple(day_reps), tuple(visits))
    again = routing.solve(dp.problem, time_limit=limit, params=search,
                          provider=travel_provider())
    left += [LeftOutVisit(dp.accounts[u.visit_id].id, dp.accounts[u.visit_id].name,
                          dp.day.isoformat(), u.reason.value, reason_text(u))
             for u in again.unassigned]
    return again, left


def plan_by_cadence(
    req: PlanRequest, reps: Sequence[User], accounts: Sequence[Account], limit: float,
    search: routing.SolveParams, tz: ZoneInfo, now: datetime,
) -> tuple[list[tuple[DayProblem, routing.Plan | None]], PlanResult]:
    """Spread visits over the run's days by cadence with ``routing.plan_week``.

    Each account's visits fall due from its last visit at its cadence; the library places
    them on the rep's working days (compact days, balanced load, near the due date) and
    routes every day. Today, a rep whose shift has begun starts from now (see
    :func:`_today_from_now`).
    """
    days = req.days
    week_accounts, by_key, left_out = _week_accounts(req, reps, accounts, tz)
    rep_weeks = tuple(
        routing.RepWeek(
            rep=routing_rep(r),
            working_days=frozenset(
                int(d) - 1 for d in (r.work_days or "").split(",")
                if d.strip().isdigit() and 1 <= int(d) <= 7),
        )
        for r in reps
    )
    problem = routing.WeekProblem(reps=rep_weeks, accounts=tuple(week_accounts),
                                  start=days[0], end=days[-1], holidays=frozenset(req.holidays),
                                  locks=week_locks(RunLocks.from_json(req.locks), by_key,
                                                   [r.id for r in reps]))
    jobs.report_progress(0.05, progress.by_cadence(len(week_accounts), len(reps), len(days)))
    week = routing.plan_week(problem, time_limit_per_day=limit, params=search,
                             provider=travel_provider())
    jobs.report_progress(0.9, progress.SAVING)
    solved: list[tuple[DayProblem, routing.Plan | None]] = []
    summaries = []
    late: list[LeftOutVisit] = []
    notes: list[Any] = library_notes(week.notes, {rep_key(r.id): r.name for r in reps})
    for d in week.days:
        dp = DayProblem(d.day, routing.Problem(tuple(r.rep for r in rep_weeks), ()), by_key)
        day_plan, left = _today_from_now(dp, d.plan, reps, now, limit, search, problem.locks)
        keep_week_locks(dp, day_plan, problem.locks)
        late += left
        notes += [s.note(u) for u in reps if (s := dp.starts.get(u.id)) is not None]
        solved.append((dp, day_plan))
        summaries.append(DaySummary(d.day.isoformat(), len(day_plan.routes),
                                    len(d.plan.served) + len(d.plan.unassigned),
                                    len(day_plan.served), round(d.plan.seconds, 2)))
    unplaced = [LeftOutVisit(by_key[u.account_id].id, by_key[u.account_id].name,
                             u.due.isoformat(), str(u.reason), english(why), why)
                for u in week.unplaced
                for why in [note("due_on", day=u.due.isoformat(), why=note(str(u.reason))
                                 if str(u.reason) in WEEK_REASONS else from_library(u.text))]]
    result = PlanResult(tuple(left_out + unplaced + late), tuple(unique(notes)),
                        tuple(summaries), limit, "cadence", utcnow().isoformat() + "Z")
    return solved, result
