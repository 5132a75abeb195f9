"""Planning rules shared by the planner pages, the JSON endpoints, the CLI and the jobs.

The shape of it: a planner's request (reps, days, which accounts) is checked and frozen into
a :class:`~geocrm.models.planning.PlanRun`; a background job turns it into ``routing``
Problems (one per day: reps from their home base and working day, visits from the accounts'
opening hours, visit length and priority), solves them and writes draft
:class:`RoutePlan` rows in one transaction. The planner tweaks (reorder, move to another rep,
pin, re-run with the pins), then publishes: the field app's Today reads published plans.

Who may do what: admins and planners plan for every rep; managers for the reps of the
territories they manage, with the accounts they can see; reps only read their own published
plans (and may re-plan the rest of their day). Anything outside that answers 404.

Times: ``routing`` works in seconds after local midnight; the database keeps naive UTC. The
local zone is ``GEOCRM_TIMEZONE`` (IANA name, default UTC).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, false, select

import routing
from geocrm import jobs
from geocrm.access import scope_territories, visible_accounts
from geocrm.clock import local_zone
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    PlanStatus,
    Role,
    RoutePlan,
    RouteStop,
    Territory,
    User,
    territory_reps,
    utcnow,
)
from geocrm.models.planning import Job, JobStatus, PlanRun
from geocrm.planning.hours import windows_on

PLANNER_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER)
DAY = 24 * 3600
MAX_DAYS = 14
MAX_ACCOUNTS = 1000
LUNCH_SLACK_S = 3600  # lunch may start up to an hour after the rep's usual lunch time
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
)
# Reasons the app finds before the solver is asked (codes beside routing.Reason's).
CLOSED = "closed"
NOT_COVERED = "not_covered"
NO_REP_WORKING = "no_rep_working"
APP_REASON_TEXT = {
    CLOSED: "closed that day according to its opening hours",
    NOT_COVERED: "none of the chosen reps works this account's territory",
    NO_REP_WORKING: "none of the chosen reps works that day",
}
# routing's wording assumes skills; ours are territories.
ROUTING_TEXT_OVERRIDES = {
    routing.Reason.SKILL_MISSING: "none of the chosen reps working that day covers this "
    "account's territory",
    routing.Reason.PINNED_REP_ABSENT: "pinned to a rep who does not work that day",
}


# -- time ------------------------------------------------------------------------------------
# local_zone lives in geocrm.clock (the field app's Today needs the same day boundary).
def to_utc(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    """Seconds after local midnight of ``day`` → naive UTC (how the database keeps time)."""
    local = datetime.combine(day, time(), tzinfo=tz) + timedelta(seconds=int(seconds))
    return local.astimezone(UTC).replace(tzinfo=None)


def to_local_seconds(day: date, value: datetime | None, tz: ZoneInfo) -> int | None:
    """Naive UTC → seconds after local midnight of ``day``."""
    if value is None:
        return None
    local = value.replace(tzinfo=UTC).astimezone(tz)
    midnight = datetime.combine(day, time(), tzinfo=tz)
    return int((local - midnight).total_seconds())


def local_now(tz: ZoneInfo) -> datetime:
    return datetime.now(tz)


def hhmm(seconds: int | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


# -- scope -----------------------------------------------------------------------------------
def plannable_reps(user: User) -> list[User]:
    """Active reps ``user`` may plan for: all for admins/planners, their own for managers."""
    stmt = select(User).where(User.role == Role.REP, User.active.is_(True))
    if user.role == Role.MANAGER:
        managed = (
            select(territory_reps.c.user_id)
            .join(Territory, Territory.id == territory_reps.c.territory_id)
            .where(Territory.manager_id == user.id)
        )
        stmt = stmt.where(User.id.in_(managed))
    elif user.role not in (Role.ADMIN, Role.PLANNER):
        stmt = stmt.where(false())
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))


def territory_choices(user: User) -> list[Territory]:
    return list(db.session.scalars(scope_territories(select(Territory), user).order_by(
        Territory.name)))


def segment_lookup() -> Callable[[int, User], Iterable[int]] | None:
    """The CRM core's scoped segment lookup (a segment's accounts that ``user`` may see)."""
    from geocrm.crm.services import segment_account_ids

    return segment_account_ids


def segment_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of the segments ``user`` may open: theirs and the shared ones."""
    from geocrm.crm.services import segment_choices as crm_segment_choices

    return crm_segment_choices(user)


def visible_runs(user: User) -> Any:
    """``select(PlanRun)`` scoped: admins and planners see all, managers their own."""
    stmt = select(PlanRun)
    if user.role in (Role.ADMIN, Role.PLANNER):
        return stmt
    if user.role == Role.MANAGER:
        return stmt.where(PlanRun.created_by_id == user.id)
    return stmt.where(false())


def get_run_or_404(run_id: int, user: User) -> PlanRun:
    run = db.session.scalars(visible_runs(user).where(PlanRun.id == run_id)).one_or_none()
    if run is None:
        raise NotFoundError(f"No planning run {run_id}.")
    return run


def get_plan_or_404(plan_id: int, user: User) -> RoutePlan:
    """A rep's own published plan; any plan for admins/planners; managers: their reps' or
    their runs'. Everything else is a 404, like a missing plan."""
    plan = db.session.get(RoutePlan, plan_id)
    ok = False
    if plan is not None:
        if user.role in (Role.ADMIN, Role.PLANNER):
            ok = True
        elif user.role == Role.MANAGER:
            ok = plan.rep_id in {r.id for r in plannable_reps(user)} or (
                plan.run is not None and plan.run.created_by_id == user.id
            )
        elif user.role == Role.REP:
            ok = plan.rep_id == user.id and plan.status == PlanStatus.PUBLISHED
    if plan is None or not ok:
        raise NotFoundError(f"No plan {plan_id}.")
    return plan


def get_stop_for_edit(stop_id: int, user: User) -> RouteStop:
    """A stop of a draft plan in a run ``user`` may edit (404 outside scope, 409 if published)."""
    stop = db.session.get(RouteStop, stop_id)
    if stop is None or stop.plan.run_id is None:
        raise NotFoundError(f"No stop {stop_id}.")
    run = get_run_or_404(stop.plan.run_id, user)
    _require_draft(run)
    return stop


def _require_draft(run: PlanRun) -> None:
    if run.status != PlanStatus.DRAFT:
        raise ConflictError("This plan is published: start a new run or re-plan the day.")
    if run.job is not None and not run.job.finished:
        raise ConflictError("Planning is still running; wait for it to finish.")


def my_plans(user: User, since: date | None = None) -> list[RoutePlan]:
    """A rep's published plans from ``since`` (default: today) on."""
    since = since or local_now(local_zone()).date()
    return list(
        db.session.scalars(
            select(RoutePlan)
            .where(
                RoutePlan.rep_id == user.id,
                RoutePlan.status == PlanStatus.PUBLISHED,
                RoutePlan.plan_date >= since,
            )
            .order_by(RoutePlan.plan_date, RoutePlan.id)
        )
    )


# -- the request -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanRequest:
    """What the planner asked for, checked against what they may see."""

    rep_ids: tuple[int, ...]
    start: date
    end: date
    territory_ids: tuple[int, ...] = ()
    segment_id: int | None = None
    overdue_only: bool = False
    account_ids: tuple[int, ...] = ()
    by_cadence: bool = False  # spread visits over the days by each account's cadence
    holidays: tuple[date, ...] = ()

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _ints(values: Sequence[str], name: str) -> tuple[int, ...]:
    out = []
    for v in values:
        if str(v).strip() == "":
            continue
        try:
            out.append(int(v))
        except ValueError as exc:
            raise ValidationError(name, f"{v!r} is not an id") from exc
    return tuple(dict.fromkeys(out))


def _date(value: str | None, name: str) -> date:
    if not value:
        raise ValidationError(name, "is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(name, f"{value!r} is not a date (YYYY-MM-DD)") from exc


def parse_plan_request(form: Any, user: User) -> PlanRequest:
    """Read the planner form (a ``MultiDict``); every problem names its field."""
    getlist = form.getlist if hasattr(form, "getlist") else (lambda k: form.get(k) or [])
    rep_ids = _ints(getlist("rep"), "rep")
    if not rep_ids:
        raise ValidationError("rep", "choose at least one rep")
    allowed = {r.id: r for r in plannable_reps(user)}
    for rid in rep_ids:
        if rid not in allowed:
            raise ValidationError("rep", f"rep {rid} is not one you can plan for")
    for rid in rep_ids:
        _check_rep(allowed[rid])
    start = _date(form.get("start"), "start")
    end = _date(form.get("end") or form.get("start"), "end")
    if end < start:
        raise ValidationError("end", "is before the start date")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError("end", f"plan at most {MAX_DAYS} days at once")
    territory_ids = _ints(getlist("territory"), "territory")
    known = {t.id for t in territory_choices(user)}
    for tid in territory_ids:
        if tid not in known:
            raise ValidationError("territory", f"territory {tid} is not one you can see")
    segment_id = None
    if form.get("segment"):
        if segment_lookup() is None:
            raise ValidationError("segment", "segments are not available")
        segment_id = _ints([form.get("segment")], "segment")[0]
        if segment_id not in {sid for sid, _ in segment_choices(user)}:
            raise ValidationError("segment", f"segment {segment_id} is not one you can open")
    overdue = str(form.get("overdue", "")).lower() in ("1", "on", "true", "yes")
    account_ids = _ints(getlist("account"), "account")
    by_cadence = str(form.get("cadence", "")).lower() in ("1", "on", "true", "yes")
    holidays = tuple(
        _date(v.strip(), "holidays") for v in str(form.get("holidays") or "").split(",")
        if v.strip())
    if by_cadence and overdue:
        raise ValidationError("cadence", "choose either cadence spreading or overdue only: "
                              "a cadence plan already places each visit when it falls due")
    return PlanRequest(rep_ids, start, end, territory_ids, segment_id, overdue, account_ids,
                       by_cadence, holidays)


def _check_rep(rep: User) -> None:
    if rep.home_lat is None or rep.home_lon is None:
        raise ValidationError("rep", f"{rep.name} has no home base (home latitude/longitude)")
    if not 0 <= rep.work_start_min < rep.work_end_min <= 24 * 60:
        raise ValidationError("rep", f"{rep.name}'s working hours are not a window")


def is_overdue(account: Account, day: date) -> bool:
    """Due by cadence on ``day``: never visited, or the last visit is ``cadence`` days old.

    Same rule as the field app's Today list (``days since - cadence >= 0``).
    """
    if not account.cadence_days:
        return False
    if account.last_visit_at is None:
        return True
    return (day - account.last_visit_at.date()).days >= account.cadence_days


def select_accounts(user: User, req: PlanRequest) -> list[Account]:
    """The accounts to plan: visible to ``user``, located, not archived, filtered as asked.

    Without a territory, segment or explicit list, the chosen reps' own accounts (their
    territories' and the ones they own): what a rep could see on Today anyway.
    """
    stmt = visible_accounts(user).where(
        Account.archived.is_(False), Account.lat.is_not(None), Account.lon.is_not(None)
    )
    if req.territory_ids:
        stmt = stmt.where(Account.territory_id.in_(req.territory_ids))
    if req.segment_id is not None:
        lookup = segment_lookup()
        assert lookup is not None
        ids = list(lookup(req.segment_id, user))
        stmt = stmt.where(Account.id.in_(ids))
    if req.account_ids:
        stmt = stmt.where(Account.id.in_(req.account_ids))
    if not (req.territory_ids or req.segment_id is not None or req.account_ids):
        tids = set().union(*rep_territory_ids(req.rep_ids).values())
        stmt = stmt.where(Account.territory_id.in_(tids) | Account.owner_id.in_(req.rep_ids))
    accounts = list(db.session.scalars(stmt.order_by(Account.priority, Account.id)))
    if req.overdue_only:
        accounts = [a for a in accounts if is_overdue(a, req.start)]
    if len(accounts) > MAX_ACCOUNTS:
        raise ValidationError(
            "account", f"{len(accounts)} accounts match; narrow it to at most {MAX_ACCOUNTS}"
        )
    return accounts


def start_run(user: User, req: PlanRequest) -> PlanRun:
    """Freeze the request into a run and queue the planning job (commits)."""
    accounts = select_accounts(user, req)
    if not accounts:
        raise ValidationError("account", "no account with a location matches the selection")
    run = PlanRun(
        created_by_id=user.id,
        start_date=req.start,
        end_date=req.end,
        status=PlanStatus.DRAFT,
        params={
            "rep_ids": list(req.rep_ids),
            "account_ids": [a.id for a in accounts],
            "territory_ids": list(req.territory_ids),
            "segment_id": req.segment_id,
            "overdue_only": req.overdue_only,
            "by_cadence": req.by_cadence,
            "holidays": [d.isoformat() for d in req.holidays],
            "pins": {},
        },
        result={},
    )
    db.session.add(run)
    db.session.flush()
    _submit(run, user)
    return run


def _submit(run: PlanRun, user: User) -> Job:
    job = jobs.submit_job("plan", "geocrm.planning.services:plan_run_job", {"run_id": run.id},
                          user.id)
    run.job_id = job.id
    db.session.commit()
    return job


# -- building the routing problem --------------------------------------------------------------
def rep_key(user_id: int) -> str:
    return f"r{user_id}"


def visit_key(account_id: int) -> str:
    return f"a{account_id}"


def works_on(rep: User, day: date) -> bool:
    days = {int(d) for d in (rep.work_days or "").split(",") if d.strip().isdigit()}
    return day.isoweekday() in days


def rep_territory_ids(rep_ids: Iterable[int]) -> dict[int, set[int]]:
    """Territory ids per rep, from the link table (no territory geometry loaded)."""
    ids = list(rep_ids)
    out: dict[int, set[int]] = {rid: set() for rid in ids}
    rows = db.session.execute(
        select(territory_reps.c.user_id, territory_reps.c.territory_id).where(
            territory_reps.c.user_id.in_(ids))
    )
    for uid, tid in rows:
        out[uid].add(tid)
    return out


def routing_rep(rep: User, territory_ids: Iterable[int] = ()) -> routing.Rep:
    """A rep as ``routing`` sees them: home base, working day, lunch, limits, territories."""
    breaks: tuple[routing.Break, ...] = ()
    if rep.lunch_start_min is not None and (rep.lunch_minutes or 0) > 0:
        earliest = rep.lunch_start_min * 60
        if rep.work_start_min * 60 <= earliest < rep.work_end_min * 60:
            breaks = (routing.Break(earliest, earliest + LUNCH_SLACK_S, rep.lunch_minutes * 60),)
    return routing.Rep(
        id=rep_key(rep.id),
        start=routing.Location(float(rep.home_lat), float(rep.home_lon)),
        shift=routing.TimeWindow(rep.work_start_min * 60, rep.work_end_min * 60),
        breaks=breaks,
        max_visits=rep.max_visits_per_day,
        skills=frozenset(f"territory:{t}" for t in territory_ids),
    )


@dataclass
class DayProblem:
    """One day's Problem plus what the app already knows about visits left out."""

    day: date
    problem: routing.Problem | None
    accounts: dict[str, Account]
    left_out: list[tuple[Account, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def build_day_problem(
    day: date,
    reps: Sequence[User],
    accounts: Sequence[Account],
    pins: Mapping[int, tuple[int, date]],
) -> DayProblem:
    """The ``routing.Problem`` for ``day``.

    Each visit may go only to a rep who can see the account on their phone: one working its
    territory (a territory "skill"), or its owner. A pinned account goes to its pinned rep on
    its pinned day, as a must-visit, and is not offered on other days.
    """
    out = DayProblem(day, None, {})
    working = [r for r in reps if works_on(r, day)]
    territories_by_rep = rep_territory_ids(r.id for r in reps)
    covered = set().union(*territories_by_rep.values()) if reps else set()
    visits: list[routing.Visit] = []
    for a in accounts:
        pin = pins.get(a.id)
        if pin is not None and pin[1] != day:
            continue
        if not working:
            out.left_out.append((a, NO_REP_WORKING, APP_REASON_TEXT[NO_REP_WORKING]))
            continue
        hours = windows_on(a.opening_hours, day)
        if hours is None:
            if a.opening_hours:
                out.notes.append(
                    f"{a.name}: opening hours {a.opening_hours!r} not understood; "
                    "planned as open all day"
                )
            hours = [(0, DAY)]
        if not hours:
            text = f"closed on {day:%a %d %b} (opening hours: {a.opening_hours})"
            out.left_out.append((a, CLOSED, text))
            continue
        skills: frozenset[str] = frozenset()
        pinned_rep = None
        if pin is not None:
            pinned_rep = rep_key(pin[0])
        elif a.territory_id is not None and a.territory_id in covered:
            skills = frozenset({f"territory:{a.territory_id}"})
        elif a.owner_id is not None and a.owner_id in territories_by_rep:
            pinned_rep = rep_key(a.owner_id)
        else:
            out.left_out.append((a, NOT_COVERED, APP_REASON_TEXT[NOT_COVERED]))
            continue
        key = visit_key(a.id)
        out.accounts[key] = a
        visits.append(
            routing.Visit(
                id=key,
                location=routing.Location(float(a.lat), float(a.lon)),
                duration=max(0, int(a.visit_minutes or 0)) * 60,
                windows=tuple(routing.TimeWindow(s, e) for s, e in hours),
                priority=min(5, max(1, int(a.priority or 3))),
                must_visit=pin is not None,
                pinned_rep=pinned_rep,
                skills=skills,
            )
        )
    if working:
        out.problem = routing.Problem(
            tuple(routing_rep(r, territories_by_rep[r.id]) for r in working), tuple(visits))
    return out


def solve_params() -> tuple[float, routing.SolveParams]:
    """Time limit and search settings from the app config (tests pin a solution limit)."""
    limit = float(current_app.config.get("GEOCRM_PLAN_TIME_LIMIT", 5.0))
    solutions = current_app.config.get("GEOCRM_PLAN_SOLUTION_LIMIT")
    return limit, routing.SolveParams(solution_limit=int(solutions) if solutions else None)


# -- the planning job ------------------------------------------------------------------------
def plan_run_job(run_id: int) -> dict[str, Any]:
    """Background job: plan every day of the run and write its draft plans, all or nothing.

    Days are planned in order; a visit served on one day is not offered again later in the
    range. What is never served is reported once, with the reason from the last day tried.
    Draft plans from an earlier run of the same request are replaced in the same transaction.
    """
    run = db.session.get(PlanRun, run_id)
    if run is None:
        raise NotFoundError(f"No planning run {run_id}.")
    tz = local_zone()
    params = run.params or {}
    reps = list(db.session.scalars(
        select(User).where(User.id.in_(params.get("rep_ids", [])), User.active.is_(True))
        .order_by(User.name, User.id)))
    if not reps:
        raise ValidationError("rep", "none of the run's reps is active any more")
    for rep in reps:
        _check_rep(rep)
    accounts = list(db.session.scalars(
        select(Account).where(Account.id.in_(params.get("account_ids", [])),
                              Account.archived.is_(False), Account.lat.is_not(None),
                              Account.lon.is_not(None))
        .order_by(Account.priority, Account.id)))
    pins = {int(k): (int(v["rep_id"]), date.fromisoformat(v["date"]))
            for k, v in (params.get("pins") or {}).items()}
    days = [run.start_date + timedelta(days=i)
            for i in range((run.end_date - run.start_date).days + 1)]
    limit, search = solve_params()
    if params.get("by_cadence"):
        return _plan_by_cadence(run, reps, accounts, pins, days, limit, search, tz)
    remaining = list(accounts)
    last_reason: dict[int, tuple[str, str, str]] = {}
    notes: list[str] = []
    day_summaries: list[dict[str, Any]] = []
    solved: list[tuple[DayProblem, routing.Plan | None]] = []
    jobs.report_progress(0.02, f"{len(accounts)} accounts, {len(reps)} reps, {len(days)} days")
    for i, day in enumerate(days):
        jobs.report_progress(0.05 + 0.85 * i / len(days),
                             f"planning {day.isoformat()}: {len(remaining)} visits to place")
        dp = build_day_problem(day, reps, remaining, pins)
        plan = None
        if dp.problem is not None and dp.problem.visits:
            plan = routing.solve(dp.problem, time_limit=limit, params=search)
        elif dp.problem is not None:
            plan = routing.solve(dp.problem, time_limit=0.1, params=search)
        solved.append((dp, plan))
        for account, code, text in dp.left_out:
            last_reason[account.id] = (day.isoformat(), code, text)
        served: set[int] = set()
        if plan is not None:
            for u in plan.unassigned:
                text = ROUTING_TEXT_OVERRIDES.get(u.reason, u.text)
                last_reason[dp.accounts[u.visit_id].id] = (day.isoformat(), u.reason.value, text)
            served = {dp.accounts[v].id for v in plan.served}
            notes.extend(f"{day.isoformat()}: {n}" for n in plan.notes)
        notes.extend(f"{day.isoformat()}: {n}" for n in dp.notes)
        for aid in served:
            last_reason.pop(aid, None)
        remaining = [a for a in remaining if a.id not in served]
        day_summaries.append({
            "date": day.isoformat(),
            "reps": len(dp.problem.reps) if dp.problem else 0,
            "visits": len(dp.problem.visits) if dp.problem else 0,
            "served": len(served),
            "seconds": round(plan.seconds, 2) if plan else 0.0,
        })
    jobs.report_progress(0.95, "saving the plans")
    unassigned = []
    for a in remaining:  # already in priority order
        d, code, text = last_reason.get(a.id, ("", "not_planned", "not offered on any day"))
        unassigned.append(
            {"account_id": a.id, "name": a.name, "date": d, "reason": code, "text": text})
    _write_plans(run, reps, solved, tz)
    run.result = {
        "unassigned": unassigned,
        "notes": list(dict.fromkeys(notes)),
        "days": day_summaries,
        "time_limit_s": limit,
        "planned_at": utcnow().isoformat() + "Z",
    }
    served_total = sum(d["served"] for d in day_summaries)
    return {"run_id": run.id, "served": served_total, "unassigned": len(unassigned)}


CADENCE_NAMES = {7: "weekly", 14: "fortnightly"}


def cadence_of(days: int | None) -> routing.Cadence | None:
    """``Account.cadence_days`` as a routing cadence (None: the account has none)."""
    if not days or days < 1:
        return None
    if days in CADENCE_NAMES:
        return getattr(routing.Cadence, CADENCE_NAMES[days])()
    if 28 <= days <= 31:
        return routing.Cadence.monthly()
    return routing.Cadence(float(days), f"every {days} days")


WeekHours = tuple[tuple[routing.TimeWindow, ...], ...]


def _weekly_hours(value: str | None, start: date) -> WeekHours | None:
    """Opening windows Monday..Sunday from the week starting ``start`` (None: open all day)."""
    week: dict[int, tuple[routing.TimeWindow, ...]] = {}
    for i in range(7):
        day = start + timedelta(days=i)
        windows = windows_on(value, day)
        if windows is None:
            return None
        week[day.weekday()] = tuple(routing.TimeWindow(a, b) for a, b in windows)
    return tuple(week[w] for w in range(7))


def _plan_by_cadence(
    run: PlanRun, reps: Sequence[User], accounts: Sequence[Account],
    pins: Mapping[int, tuple[int, date]], days: Sequence[date], limit: float,
    search: routing.SolveParams, tz: ZoneInfo,
) -> dict[str, Any]:
    """Spread visits over the run's days by cadence with ``routing.plan_week``.

    Each account's visits fall due from its last visit at its cadence; the library places
    them on the rep's working days (compact days, balanced load, near the due date) and
    routes every day. An account goes to the chosen rep who works its territory (or owns
    it); accounts without a cadence or a rep are listed as left out, with the reason.
    """
    params = run.params or {}
    territories_by_rep = rep_territory_ids(r.id for r in reps)
    rep_for_territory: dict[int, int] = {}
    for r in reps:
        for tid in sorted(territories_by_rep[r.id]):
            rep_for_territory.setdefault(tid, r.id)
    chosen = {r.id for r in reps}
    left_out: list[dict[str, Any]] = []
    week_accounts = []
    by_key: dict[str, Account] = {}
    for a in accounts:
        cadence = cadence_of(a.cadence_days)
        pin = pins.get(a.id)
        rep_id = pin[0] if pin else rep_for_territory.get(a.territory_id or -1)
        if rep_id is None and a.owner_id in chosen:
            rep_id = a.owner_id
        if cadence is None:
            left_out.append({"account_id": a.id, "name": a.name, "date": "",
                             "reason": "no_cadence",
                             "text": "no visit cadence set on the account"})
            continue
        if rep_id is None:
            left_out.append({"account_id": a.id, "name": a.name, "date": "",
                             "reason": NOT_COVERED, "text": APP_REASON_TEXT[NOT_COVERED]})
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
            hours=_weekly_hours(a.opening_hours, days[0]),
            priority=min(5, max(1, int(a.priority or 3))),
            rep_id=rep_key(rep_id),
            pinned_days=(pin[1],) if pin else (),
        ))
    rep_weeks = tuple(
        routing.RepWeek(
            rep=routing_rep(r),
            working_days=frozenset(
                int(d) - 1 for d in (r.work_days or "").split(",")
                if d.strip().isdigit() and 1 <= int(d) <= 7),
        )
        for r in reps
    )
    problem = routing.WeekProblem(
        reps=rep_weeks, accounts=tuple(week_accounts), start=days[0], end=days[-1],
        holidays=frozenset(date.fromisoformat(d) for d in params.get("holidays", [])))
    jobs.report_progress(0.05, f"{len(week_accounts)} accounts by cadence, {len(reps)} reps, "
                               f"{len(days)} days")
    week = routing.plan_week(problem, time_limit_per_day=limit, params=search)
    jobs.report_progress(0.9, "saving the plans")
    solved: list[tuple[DayProblem, routing.Plan | None]] = []
    summaries = []
    for d in week.days:
        dp = DayProblem(d.day, routing.Problem(tuple(r.rep for r in rep_weeks), ()), by_key)
        solved.append((dp, d.plan))
        summaries.append({
            "date": d.day.isoformat(),
            "reps": len(d.plan.routes),
            "visits": len(d.plan.served) + len(d.plan.unassigned),
            "served": len(d.plan.served),
            "seconds": round(d.plan.seconds, 2),
        })
    unassigned = left_out + [
        {"account_id": by_key[u.account_id].id, "name": by_key[u.account_id].name,
         "date": u.due.isoformat(), "reason": u.reason, "text": f"due {u.due:%a %d %b}: {u.text}"}
        for u in week.unplaced
    ]
    _write_plans(run, reps, solved, tz)
    run.result = {
        "unassigned": unassigned,
        "notes": list(dict.fromkeys(week.notes)),
        "days": summaries,
        "time_limit_s": limit,
        "mode": "cadence",
        "planned_at": utcnow().isoformat() + "Z",
    }
    return {"run_id": run.id, "served": len(week.placements), "unassigned": len(unassigned)}


def _write_plans(run: PlanRun, reps: Sequence[User],
                 solved: Sequence[tuple[DayProblem, routing.Plan | None]], tz: ZoneInfo) -> None:
    """Replace the run's draft plans with the new ones (inside the job's transaction)."""
    old = [p.id for p in run.plans if p.status == PlanStatus.DRAFT]
    if old:
        db.session.execute(delete(RouteStop).where(RouteStop.plan_id.in_(old)))
        db.session.execute(delete(RoutePlan).where(RoutePlan.id.in_(old)))
        db.session.expire(run, ["plans"])
    by_key = {rep_key(r.id): r for r in reps}
    pinned = {int(k) for k in (run.params or {}).get("pins", {})}
    for dp, plan in solved:
        if plan is None:
            continue
        speeds = {r.id: r.speed_kmh for r in dp.problem.reps} if dp.problem else {}
        for route in plan.routes:
            rep = by_key[route.rep_id]
            rp = RoutePlan(
                rep_id=rep.id,
                plan_date=dp.day,
                status=PlanStatus.DRAFT,
                created_by_id=run.created_by_id,
                run_id=run.id,
                distance_m=float(route.distance_m),
                duration_s=int(route.end - route.start),
                params=_plan_params(rep, route, speeds.get(route.rep_id, 30.0)),
                unassigned=[],
                notes=[],
            )
            for seq, s in enumerate(route.stops, start=1):
                account = dp.accounts[s.visit_id]
                rp.stops.append(RouteStop(
                    seq=seq,
                    account_id=account.id,
                    arrival=to_utc(dp.day, s.arrival, tz),
                    start=to_utc(dp.day, s.start, tz),
                    departure=to_utc(dp.day, s.departure, tz),
                    travel_s=s.leg_travel_s,
                    distance_m=float(s.leg_distance_m),
                    pinned=account.id in pinned,
                    status="planned",
                ))
            db.session.add(rp)
    db.session.flush()


def _plan_params(rep: User, route: routing.RepRoute, speed_kmh: float) -> dict[str, Any]:
    return {
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


# -- reading a run for the pages ------------------------------------------------------------
@dataclass
class StopView:
    id: int
    seq: int
    account_id: int
    name: str
    address: str
    lat: float
    lon: float
    arrival: int | None
    start: int | None
    departure: int | None
    travel_s: int
    distance_m: float
    pinned: bool
    status: str
    wait_s: int


@dataclass
class PlanView:
    id: int
    rep_id: int
    rep_name: str
    day: date
    status: str
    colour: str
    home: tuple[float, float]
    shift: tuple[int, int]
    lunch: tuple[int | None, int]
    stops: list[StopView]
    distance_m: float
    day_start: int
    day_end: int
    return_travel_s: int
    warnings: list[str]


def plan_view(plan: RoutePlan, colour: str, tz: ZoneInfo) -> PlanView:
    """Plain data for templates, maps and exports: local seconds, names, coordinates."""
    p = plan.params or {}
    stops = []
    for s in plan.stops:
        a = s.account
        arrival = to_local_seconds(plan.plan_date, s.arrival, tz)
        start = to_local_seconds(plan.plan_date, s.start, tz)
        stops.append(StopView(
            s.id, s.seq, a.id, a.name, ", ".join(x for x in (a.address, a.city) if x),
            float(a.lat), float(a.lon), arrival, start,
            to_local_seconds(plan.plan_date, s.departure, tz), int(s.travel_s or 0),
            float(s.distance_m or 0.0), bool(s.pinned), s.status,
            max(0, (start or 0) - (arrival or 0)),
        ))
    home = p.get("home") or [plan.rep.home_lat, plan.rep.home_lon]
    shift = p.get("shift") or [plan.rep.work_start_min * 60, plan.rep.work_end_min * 60]
    lunch = p.get("lunch") or [None, 0]
    return PlanView(
        plan.id, plan.rep_id, plan.rep.name, plan.plan_date, plan.status.value, colour,
        (float(home[0]), float(home[1])), (int(shift[0]), int(shift[1])),
        (lunch[0], int(lunch[1] or 0)), stops, float(plan.distance_m or 0.0),
        int(p.get("day_start", shift[0])), int(p.get("day_end", shift[0])),
        int(p.get("return_travel_s", 0)), list(plan.notes or []),
    )


def run_plan_views(run: PlanRun) -> list[PlanView]:
    tz = local_zone()
    colours = rep_colours(run)
    return [plan_view(p, colours.get(p.rep_id, PALETTE[0]), tz) for p in run.plans
            if p.status != PlanStatus.ARCHIVED]


def rep_colours(run: PlanRun) -> dict[int, str]:
    ids = list((run.params or {}).get("rep_ids", []))
    for p in run.plans:
        if p.rep_id not in ids:
            ids.append(p.rep_id)
    return {rid: PALETTE[i % len(PALETTE)] for i, rid in enumerate(ids)}


def run_reps(run: PlanRun) -> list[User]:
    ids = (run.params or {}).get("rep_ids", [])
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name)))


# -- manual tweaks -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Timed:
    arrival: int
    start: int
    departure: int
    leg_travel_s: int
    leg_distance_m: int
    in_window: bool


def simulate(day: date, origin: routing.Location, clock: int, accounts: Sequence[Account],
             home: routing.Location, speed_kmh: float) -> tuple[list[Timed], int, int]:
    """Drive ``accounts`` in this order from ``origin`` at ``clock``: times per stop, then the
    time back home and the total distance (metres). Same travel model as the solver
    (great-circle × circuity at the rep's speed); waits for the next opening window."""
    points = [origin] + [routing.Location(float(a.lat), float(a.lon)) for a in accounts] + [home]
    mats = routing.GreatCircle().matrices(points, speed_kmh)
    out: list[Timed] = []
    total = 0
    for i, a in enumerate(accounts, start=1):
        leg_t, leg_d = int(mats.travel_s[i - 1, i]), int(mats.distance_m[i - 1, i])
        arrival = clock + leg_t
        duration = max(0, int(a.visit_minutes or 0)) * 60
        windows = windows_on(a.opening_hours, day)
        windows = [(0, DAY)] if windows is None else windows
        start = next((max(arrival, lo) for lo, hi in windows if max(arrival, lo) + duration <= hi),
                     None)
        out.append(Timed(arrival, start if start is not None else arrival,
                         (start if start is not None else arrival) + duration, leg_t, leg_d,
                         start is not None))
        total += leg_d
        clock = out[-1].departure
    n = len(accounts)
    back_t, back_d = int(mats.travel_s[n, n + 1]), int(mats.distance_m[n, n + 1])
    return out, clock + back_t, total + back_d


def retime(plan: RoutePlan, tz: ZoneInfo | None = None) -> list[str]:
    """Recompute arrival/start/departure after a manual change; returns warnings.

    It keeps the planner's order (that is the point of a manual change) and does not move the
    lunch break; the warnings say when a window or the shift end is missed instead.
    """
    tz = tz or local_zone()
    p = plan.params or {}
    rep = plan.rep
    shift = p.get("shift") or [rep.work_start_min * 60, rep.work_end_min * 60]
    home = routing.Location(float(rep.home_lat), float(rep.home_lon))
    stops = sorted(plan.stops, key=lambda s: s.seq)
    day_start = int(p.get("day_start", shift[0]))
    timed, end, distance = simulate(plan.plan_date, home, day_start, [s.account for s in stops],
                                    home, float(p.get("speed_kmh") or 30.0))
    warnings: list[str] = []
    for i, (s, t) in enumerate(zip(stops, timed, strict=True), start=1):
        s.seq = i
        _set_times(s, plan.plan_date, t, tz)
        if not t.in_window:
            warnings.append(f"{s.account.name}: no opening window left at {hhmm(t.arrival)}")
    if end > int(shift[1]):
        warnings.append(f"back home at {hhmm(end)}, after the shift ends ({hhmm(shift[1])})")
    plan.distance_m = float(distance)
    plan.duration_s = end - day_start
    back = (end - timed[-1].departure) if timed else 0
    plan.params = {**p, "day_end": end, "return_travel_s": back}
    plan.notes = warnings
    return warnings


def _set_times(stop: RouteStop, day: date, t: Timed, tz: ZoneInfo) -> None:
    stop.arrival = to_utc(day, t.arrival, tz)
    stop.start = to_utc(day, t.start, tz)
    stop.departure = to_utc(day, t.departure, tz)
    stop.travel_s = t.leg_travel_s
    stop.distance_m = float(t.leg_distance_m)


def move_stop(stop: RouteStop, direction: str) -> list[str]:
    """Swap a stop with its neighbour (``up``/``down``) and retime the plan."""
    if direction not in ("up", "down"):
        raise ValidationError("direction", "must be 'up' or 'down'")
    stops = sorted(stop.plan.stops, key=lambda s: s.seq)
    i = stops.index(stop)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(stops):
        raise ValidationError("direction", f"stop {stop.seq} is already the "
                              f"{'first' if direction == 'up' else 'last'}")
    stops[i].seq, stops[j].seq = stops[j].seq, stops[i].seq
    warnings = retime(stop.plan)
    db.session.commit()
    return warnings


def covers(rep: User, account: Account) -> bool:
    """Whether ``rep`` sees ``account`` on their phone (territory or ownership)."""
    return account.owner_id == rep.id or (
        account.territory_id is not None
        and account.territory_id in rep_territory_ids([rep.id])[rep.id]
    )


def _best_position(plan: RoutePlan, account: Account) -> int:
    """Where inserting ``account`` adds the least distance (cheapest insertion)."""
    home = (float(plan.rep.home_lat), float(plan.rep.home_lon))
    stops = sorted(plan.stops, key=lambda s: s.seq)
    pts = [home] + [(float(s.account.lat), float(s.account.lon)) for s in stops] + [home]
    new = (float(account.lat), float(account.lon))
    locs = [routing.Location(*p) for p in pts + [new]]
    d = routing.haversine_matrix(locs)
    k = len(locs) - 1
    costs = [d[i, k] + d[k, i + 1] - d[i, i + 1] for i in range(len(pts) - 1)]
    return int(min(range(len(costs)), key=lambda i: (costs[i], i)))


def _insert(plan: RoutePlan, account: Account) -> RouteStop:
    pos = _best_position(plan, account)
    stops = sorted(plan.stops, key=lambda s: s.seq)
    new = RouteStop(account_id=account.id, seq=0, pinned=True, status="planned")
    new.account = account
    stops.insert(pos, new)
    for i, s in enumerate(stops, start=1):
        s.seq = i
    plan.stops.append(new)
    return new


def reassign_stop(stop: RouteStop, rep_id: int) -> RouteStop:
    """Move a stop to another rep's plan of the same day in the same run, pinned there."""
    source = stop.plan
    target = next((p for p in source.run.plans
                   if p.rep_id == rep_id and p.plan_date == source.plan_date), None)
    if target is None:
        raise ValidationError("rep_id", "that rep has no plan on this day in this run")
    if target.id == source.id:
        raise ValidationError("rep_id", "the stop is already on this rep's plan")
    if not covers(target.rep, stop.account):
        raise ValidationError("rep_id", f"{target.rep.name} does not work this account's "
                              "territory")
    account = stop.account
    source.stops.remove(stop)
    db.session.delete(stop)
    new = _insert(target, account)
    retime(source)
    retime(target)
    db.session.commit()
    return new


def reassign_options(plans: Sequence[PlanView]) -> dict[int, list[tuple[int, str]]]:
    """For each stop, the other reps (same day) it may move to: those who cover it."""
    territories = rep_territory_ids({p.rep_id for p in plans})
    ids = [s.account_id for p in plans for s in p.stops]
    owner_territory = {
        aid: (owner, tid) for aid, owner, tid in db.session.execute(
            select(Account.id, Account.owner_id, Account.territory_id).where(Account.id.in_(ids)))
    }
    out: dict[int, list[tuple[int, str]]] = {}
    for p in plans:
        for s in p.stops:
            owner, tid = owner_territory.get(s.account_id, (None, None))
            out[s.id] = [
                (o.rep_id, o.rep_name) for o in plans
                if o.day == p.day and o.rep_id != p.rep_id
                and (o.rep_id == owner or (tid is not None and tid in territories[o.rep_id]))
            ]
    return out


def toggle_pin(stop: RouteStop) -> bool:
    stop.pinned = not stop.pinned
    db.session.commit()
    return stop.pinned


def assign_unassigned(run: PlanRun, account_id: int, rep_id: int, day: date) -> RouteStop:
    """Put a left-out account on a rep's plan by hand (pinned), at the cheapest position."""
    _require_draft(run)
    entry = next((u for u in (run.result or {}).get("unassigned", [])
                  if u["account_id"] == account_id), None)
    if entry is None:
        raise ValidationError("account_id", "is not in this run's unassigned list")
    plan = next((p for p in run.plans if p.rep_id == rep_id and p.plan_date == day), None)
    if plan is None:
        raise ValidationError("rep_id", "that rep has no plan on this day in this run")
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFoundError(f"No account {account_id}.")
    if not covers(plan.rep, account):
        raise ValidationError("rep_id", f"{plan.rep.name} does not work this account's territory")
    stop = _insert(plan, account)
    retime(plan)
    result = dict(run.result)
    result["unassigned"] = [u for u in result["unassigned"] if u["account_id"] != account_id]
    run.result = result
    db.session.commit()
    return stop


def rerun(run: PlanRun, user: User) -> Job:
    """Plan the run again with the planner's pins (pinned stops stay with their rep and day)."""
    _require_draft(run)
    pins = {str(s.account_id): {"rep_id": p.rep_id, "date": p.plan_date.isoformat()}
            for p in run.plans if p.status == PlanStatus.DRAFT for s in p.stops if s.pinned}
    account_ids = list((run.params or {}).get("account_ids", []))
    for k in pins:
        if int(k) not in account_ids:  # assigned by hand from outside the first selection
            account_ids.append(int(k))
    run.params = {**(run.params or {}), "pins": pins, "account_ids": account_ids}
    return _submit(run, user)


def publish(run: PlanRun) -> int:
    """Publish every plan of the run; earlier published plans for the same rep and day are
    archived, so Today shows exactly one. Returns the number of plans published."""
    _require_draft(run)
    if run.job is None or run.job.status != JobStatus.DONE:
        raise ConflictError("There is no finished plan to publish.")
    now = utcnow()
    count = 0
    for plan in run.plans:
        if plan.status != PlanStatus.DRAFT:
            continue
        others = db.session.scalars(select(RoutePlan).where(
            RoutePlan.rep_id == plan.rep_id, RoutePlan.plan_date == plan.plan_date,
            RoutePlan.status == PlanStatus.PUBLISHED, RoutePlan.id != plan.id))
        for other in others:
            other.status = PlanStatus.ARCHIVED
        plan.status = PlanStatus.PUBLISHED
        plan.published_at = now
        count += 1
    run.status = PlanStatus.PUBLISHED
    run.published_at = now
    db.session.commit()
    return count


# -- the timeline ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    kind: str  # travel / wait / visit / lunch
    left: float  # percent of the bar
    width: float
    label: str


@dataclass(frozen=True)
class Timeline:
    segments: list[Segment]
    ticks: list[tuple[float, str]]
    start: int
    end: int


def timeline(plan: PlanView) -> Timeline:
    """A rep's day as bar segments over the working day (plain numbers for HTML/CSS)."""
    lo = min(plan.shift[0], plan.day_start)
    hi = max(plan.shift[1], plan.day_end, lo + 3600)
    span = float(hi - lo)

    def seg(kind: str, a: int, b: int, label: str) -> Segment | None:
        a, b = max(lo, a), min(hi, b)
        if b <= a:
            return None
        return Segment(kind, round(100 * (a - lo) / span, 3), round(100 * (b - a) / span, 3),
                       label)

    out: list[Segment | None] = []
    if plan.lunch[0] is not None and plan.lunch[1] > 0:
        out.append(seg("lunch", plan.lunch[0], plan.lunch[0] + LUNCH_SLACK_S + plan.lunch[1],
                       f"lunch window from {hhmm(plan.lunch[0])} ({plan.lunch[1] // 60} min)"))
    last = plan.day_start
    for s in plan.stops:
        if s.arrival is None or s.start is None or s.departure is None:
            continue
        out.append(seg("travel", s.arrival - s.travel_s, s.arrival,
                       f"drive {s.travel_s // 60} min to {s.name}"))
        out.append(seg("wait", s.arrival, s.start, f"wait {s.wait_s // 60} min at {s.name}"))
        out.append(seg("visit", s.start, s.departure,
                       f"{s.seq}. {s.name} {hhmm(s.start)}–{hhmm(s.departure)}"))
        last = s.departure
    if plan.stops:
        out.append(seg("travel", last, last + plan.return_travel_s,
                       f"drive home {plan.return_travel_s // 60} min"))
    first_hour = (lo + 3599) // 3600 * 3600
    ticks = [(round(100 * (t - lo) / span, 3), hhmm(t)) for t in range(first_hour, hi + 1, 3600)]
    return Timeline([s for s in out if s is not None], ticks, lo, hi)


# -- mid-day re-plan ---------------------------------------------------------------------------
# routing.replan keeps the rep's order unless a new one saves 10 % or 15 minutes of travel
# (routing.KeepOrder), so a rep's day is not reshuffled for a few hundred metres.


def can_replan(plan: RoutePlan, user: User) -> bool:
    """Published plans only; the rep themselves or a planner who can see the plan."""
    if plan.status != PlanStatus.PUBLISHED:
        return False
    if user.role == Role.REP:
        return plan.rep_id == user.id
    return user.role in PLANNER_ROLES


def parse_position(form: Any) -> tuple[float, float] | None:
    """Where the rep is now (``lat``/``lon``), or ``None`` when not given."""
    raw_lat, raw_lon = (form.get("lat") or "").strip(), (form.get("lon") or "").strip()
    if not raw_lat and not raw_lon:
        return None
    values = []
    for name, raw, bound in (("lat", raw_lat, 90), ("lon", raw_lon, 180)):
        try:
            v = float(raw)
        except ValueError as exc:
            raise ValidationError(name, f"{raw!r} is not a number") from exc
        if not -bound <= v <= bound:
            raise ValidationError(name, f"must be between -{bound} and {bound}")
        values.append(v)
    return values[0], values[1]


def parse_clock(value: str | None) -> int | None:
    """``HH:MM`` → seconds after midnight; empty → ``None``."""
    if not value or not value.strip():
        return None
    try:
        hours, minutes = (int(x) for x in value.strip().split(":"))
    except ValueError as exc:
        raise ValidationError("at", f"{value!r} is not a time (HH:MM)") from exc
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValidationError("at", f"{value!r} is not a time (HH:MM)")
    return hours * 3600 + minutes * 60


def replan_day(plan: RoutePlan, *, position: tuple[float, float] | None,
               at_s: int | None) -> list[str]:
    """Re-plan what is left of a published day from the rep's position and time.

    :func:`routing.replan` does the work: visited and skipped stops stay as they are;
    pinned stops are appointments at their planned time (the window holds the whole visit);
    the remaining order is kept unless a new one saves enough travel or the old one no
    longer fits; visits that no longer fit are marked skipped, with the reason. Returns what
    changed, in words (also kept in the plan's notes).
    """
    tz = local_zone()
    rep = plan.rep
    p = plan.params or {}
    stops = sorted(plan.stops, key=lambda s: s.seq)
    done = [s for s in stops if s.status != "planned"]
    todo = [s for s in stops if s.status == "planned"]
    if not todo:
        return ["Nothing left to re-plan: every stop is visited or skipped."]
    today = local_now(tz)
    if at_s is None:
        at_s = (today.hour * 3600 + today.minute * 60 if today.date() == plan.plan_date
                else rep.work_start_min * 60)
    shift_end = rep.work_end_min * 60
    if at_s >= shift_end:
        raise ValidationError("at", f"the working day ended at {hhmm(shift_end)}")
    if position is None:
        visited = [s for s in done if s.status == "visited"]
        source = visited[-1].account if visited else None
        position = ((float(source.lat), float(source.lon)) if source is not None
                    else (float(rep.home_lat), float(rep.home_lon)))
    here = routing.Location(*position)
    speed = float(p.get("speed_kmh") or 30.0)
    accounts = {visit_key(s.account_id): s.account for s in todo}
    by_key = {visit_key(s.account_id): s for s in todo}
    day_rep = dataclasses.replace(routing_rep(rep), skills=frozenset(), speed_kmh=speed)
    lunch_over = (rep.lunch_start_min is not None
                  and at_s >= rep.lunch_start_min * 60 + LUNCH_SLACK_S)
    visits = []
    appointments: dict[str, routing.TimeWindow] = {}
    planned_starts: dict[str, int] = {}
    closed: list[str] = []
    for key, a in accounts.items():
        hours = windows_on(a.opening_hours, plan.plan_date)
        hours = [(0, DAY)] if hours is None else hours
        if not hours:
            closed.append(key)
            continue
        stop = by_key[key]
        duration = max(0, int(a.visit_minutes or 0)) * 60
        visits.append(routing.Visit(
            id=key, location=routing.Location(float(a.lat), float(a.lon)), duration=duration,
            windows=tuple(routing.TimeWindow(lo, hi) for lo, hi in hours),
            priority=min(5, max(1, int(a.priority or 3)))))
        start = to_local_seconds(plan.plan_date, stop.start, tz)
        if start is not None:
            planned_starts[key] = start
            if stop.pinned:  # an appointment: the window holds the whole visit
                appointments[key] = routing.TimeWindow(max(start, at_s),
                                                       max(start, at_s) + duration)
    limit = float(current_app.config.get("GEOCRM_REPLAN_TIME_LIMIT", 2.0))
    _, search = solve_params()
    result = routing.replan(
        day_rep, visits, now=at_s, position=here,
        current_order=[visit_key(s.account_id) for s in todo if visit_key(s.account_id)
                       not in closed],
        completed=[visit_key(s.account_id) for s in done if s.status == "visited"],
        breaks_taken=1 if lunch_over else 0, appointments=appointments,
        planned_starts=planned_starts, time_limit=limit, params=search)
    route = result.plan.routes[0]
    reasons = {u.visit_id: ROUTING_TEXT_OVERRIDES.get(u.reason, u.text)
               for u in result.plan.unassigned}
    for key in closed:
        reasons[key] = APP_REASON_TEXT[CLOSED]
    summary = list(result.summary)
    seq = len(done)
    order = [st.visit_id for st in route.stops]
    for st in route.stops:
        seq += 1
        stop = by_key[st.visit_id]
        stop.seq = seq
        _set_times(stop, plan.plan_date, Timed(st.arrival, st.start, st.departure,
                                               st.leg_travel_s, int(st.leg_distance_m), True), tz)
    left_out = list(plan.unassigned or [])
    for key in [k for k in by_key if k not in order]:
        seq += 1
        stop = by_key[key]
        stop.seq = seq
        stop.status = "skipped"
        text = reasons.get(key, "no longer fits the day")
        left_out.append({"account_id": stop.account_id, "name": stop.account.name,
                         "date": plan.plan_date.isoformat(), "reason": "replan", "text": text})
        line = f"Skipped {stop.account.name}: {text}."
        if line not in summary:
            summary.append(line)
    for i, s in enumerate(done, start=1):
        s.seq = i
    plan.unassigned = left_out
    plan.notes = list(plan.notes or []) + summary
    db.session.commit()
    return summary
