"""Read models for the pages, maps and exports: plain data, local seconds, names.

Views read a run or a plan only through here (:func:`run_page`, :func:`plan_view`): no
template or view queries accounts itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from geocrm.clock import local_zone
from geocrm.extensions import db
from geocrm.models import Account, PlanStatus, RoutePlan, User
from geocrm.models.planning import Job, PlanRun, RouteStop
from geocrm.planning.base import PALETTE, drive_text, to_local_seconds
from geocrm.planning.maps import LeftOut
from geocrm.planning.notes import reason_words
from geocrm.planning.results import DaySummary, LeftOutVisit, PlanResult
from geocrm.planning.scope import rep_territory_ids


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

    @property
    def drive(self) -> str:
        """The leg that leads here, as a person reads it ("4 min · 1.2 km", "<1 min · 50 m")."""
        return drive_text(self.travel_s, self.distance_m)


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
    origin: tuple[float, float] | None = None  # where the day starts, when not at home
    # why it starts later than the shift (planned after it began): a note, or an older sentence
    start_note: Any = ""
    road_line: list[tuple[float, float]] | None = None  # the day along the roads, when known

    @property
    def start_point(self) -> tuple[float, float]:
        return self.origin or self.home


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
    origin = p.get("start")
    return PlanView(
        plan.id, plan.rep_id, plan.rep.name, plan.plan_date, plan.status.value, colour,
        (float(home[0]), float(home[1])), (int(shift[0]), int(shift[1])),
        (lunch[0], int(lunch[1] or 0)), stops, float(plan.distance_m or 0.0),
        int(p.get("day_start", shift[0])), int(p.get("day_end", shift[0])),
        int(p.get("return_travel_s", 0)), list(plan.notes or []),
        (float(origin[0]), float(origin[1])) if origin else None,
        p.get("start_note") or "",
        _road_line(p, [s.account_id for s in sorted(plan.stops, key=lambda s: s.seq)]),
    )


def _road_line(params: dict[str, Any], order: list[int]) -> list[tuple[float, float]] | None:
    """The stored legs along the roads joined into one line, while the stops are still in the
    order they were drawn for (after an edit or a re-plan: None, straight lines instead)."""
    legs = params.get("legs")
    if not legs or params.get("legs_for") != order:
        return None
    line: list[tuple[float, float]] = []
    for leg in legs:
        line.extend((float(a), float(b)) for a, b in leg.get("line") or [])
    return line or None


def plan_page_view(plan: RoutePlan) -> PlanView:
    """One plan as its page shows it, in its run's colour."""
    colours = rep_colours(plan.run) if plan.run else {}
    return plan_view(plan, colours.get(plan.rep_id, PALETTE[0]), local_zone())


def _load_run_plans(run: PlanRun) -> list[Any]:
    """Bring the run's stops, their accounts and the reps into the session in three queries.

    Without it each plan loads its stops and each stop its account one by one: 6 reps x 20
    stops cost ~130 queries and most of the plan page's server time (issue 13's <= 1 s).
    Loaded rows sit in the identity map, where the relationships then find them; the
    identity map holds them weakly, so the caller keeps the returned list while it reads.
    """
    in_run = select(RoutePlan.id).where(RoutePlan.run_id == run.id)
    return [
        *db.session.scalars(select(RoutePlan).where(RoutePlan.run_id == run.id)
                            .options(selectinload(RoutePlan.stops))),
        *db.session.scalars(select(Account).where(Account.id.in_(
            select(RouteStop.account_id).where(RouteStop.plan_id.in_(in_run))))),
        *db.session.scalars(select(User).where(User.id.in_(
            select(RoutePlan.rep_id).where(RoutePlan.run_id == run.id)))),
    ]


def run_plan_views(run: PlanRun) -> list[PlanView]:
    """Every plan of the run that is not archived, in the run's colours."""
    loaded = _load_run_plans(run)
    tz = local_zone()
    colours = rep_colours(run)
    views = [plan_view(p, colours.get(p.rep_id, PALETTE[0]), tz) for p in run.plans
             if p.status != PlanStatus.ARCHIVED]
    del loaded
    return views


def rep_colours(run: PlanRun) -> dict[int, str]:
    """One palette colour per rep, stable in the order the reps were chosen."""
    ids = list((run.params or {}).get("rep_ids", []))
    for p in run.plans:
        if p.rep_id not in ids:
            ids.append(p.rep_id)
    return {rid: PALETTE[i % len(PALETTE)] for i, rid in enumerate(ids)}


def run_reps(run: PlanRun) -> list[User]:
    """The run's reps by name."""
    ids = (run.params or {}).get("rep_ids", [])
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name)))


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


def left_out_on_map(unassigned: Sequence[LeftOutVisit]) -> list[LeftOut]:
    """The left-out accounts that still have a location, as grey map markers with why."""
    located = {aid: (lat, lon) for aid, lat, lon in db.session.execute(
        select(Account.id, Account.lat, Account.lon).where(
            Account.id.in_([u.account_id for u in unassigned]),
            Account.lat.is_not(None), Account.lon.is_not(None)))}
    return [LeftOut(float(located[u.account_id][0]), float(located[u.account_id][1]), u.name,
                    reason_words(u.to_json()))
            for u in unassigned if u.account_id in located]


@dataclass
class RunPage:
    """Everything the run page shows once planning has finished."""

    run: PlanRun
    job: Job | None
    plans: list[PlanView]
    result: PlanResult
    left_out: list[LeftOut]
    reps: list[User]
    days: list[date]
    calendar: dict[tuple[date, int], PlanView]
    movable: dict[int, list[tuple[int, str]]]
    editable: bool

    @property
    def unassigned(self) -> tuple[LeftOutVisit, ...]:
        return self.result.unassigned

    @property
    def notes(self) -> tuple[str, ...]:
        return self.result.notes

    @property
    def day_summaries(self) -> tuple[DaySummary, ...]:
        return self.result.days


def planning_finished(run: PlanRun) -> bool:
    """Whether the run's job finished well (otherwise the page shows progress or failure)."""
    job = run.job
    return job is not None and job.finished and job.status.value != "failed"


def run_page(run: PlanRun) -> RunPage:
    """The run page's read model: plans, the left-out list with locations, the calendar."""
    plans = run_plan_views(run)
    result = PlanResult.of_run(run)
    return RunPage(
        run=run, job=run.job, plans=plans, result=result,
        left_out=left_out_on_map(result.unassigned), reps=run_reps(run),
        days=sorted({p.day for p in plans}) or [run.start_date],
        calendar={(p.day, p.rep_id): p for p in plans},
        movable=reassign_options(plans),
        editable=run.status == PlanStatus.DRAFT,
    )
