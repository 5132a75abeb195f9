"""A planner's changes to a draft run: reorder, move to another rep, pin, add a left-out
account by hand, re-run with the pins, publish. Each flushes; the request commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

import routing
from geocrm.clock import local_zone
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import local_date
from geocrm.models import Account, PlanStatus, RoutePlan, RouteStop, User, utcnow
from geocrm.models.planning import Job, JobStatus, PlanRun
from geocrm.notify import outbox
from geocrm.planning.base import DAY, hhmm, to_utc
from geocrm.planning.hours import windows_on
from geocrm.planning.notes import note
from geocrm.planning.request import rerun_request, submit
from geocrm.planning.results import PlanResult
from geocrm.planning.scope import covers, require_draft
from geocrm.region.travel import travel_provider
from geocrm.webhooks import events as webhooks


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
    time back home and the total distance (metres). Same travel provider as the solver
    (:func:`geocrm.region.travel.travel_provider`); waits for the next opening window."""
    points = [origin] + [routing.Location(float(a.lat), float(a.lon)) for a in accounts] + [home]
    mats = travel_provider().matrices(points, speed_kmh)
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


def set_times(stop: RouteStop, day: date, t: Timed, tz: ZoneInfo) -> None:
    """Store a stop's local times (as naive UTC) and the leg that leads to it."""
    stop.arrival = to_utc(day, t.arrival, tz)
    stop.start = to_utc(day, t.start, tz)
    stop.departure = to_utc(day, t.departure, tz)
    stop.travel_s = t.leg_travel_s
    stop.distance_m = float(t.leg_distance_m)


def retime(plan: RoutePlan, tz: ZoneInfo | None = None) -> list[Any]:
    """Recompute arrival/start/departure after a manual change; returns warnings.

    It keeps the planner's order (that is the point of a manual change) and does not move the
    lunch break; the warnings say when a window or the shift end is missed instead. A day
    planned after the shift began keeps starting where and when it did.
    """
    tz = tz or local_zone()
    p = plan.params or {}
    rep = plan.rep
    shift = p.get("shift") or [rep.work_start_min * 60, rep.work_end_min * 60]
    home = routing.Location(float(rep.home_lat), float(rep.home_lon))
    origin = routing.Location(*p["start"]) if p.get("start") else home
    stops = sorted(plan.stops, key=lambda s: s.seq)
    day_start = int(p.get("start_at", p.get("day_start", shift[0])))
    timed, end, distance = simulate(plan.plan_date, origin, day_start,
                                    [s.account for s in stops], home,
                                    float(p.get("speed_kmh") or 30.0))
    warnings: list[Any] = []
    for i, (s, t) in enumerate(zip(stops, timed, strict=True), start=1):
        s.seq = i
        set_times(s, plan.plan_date, t, tz)
        if not t.in_window:
            warnings.append(note("no_window_left", name=s.account.name, time=hhmm(t.arrival)))
    if end > int(shift[1]):
        warnings.append(note("home_after_shift", time=hhmm(end), end=hhmm(shift[1])))
    plan.distance_m = float(distance)
    plan.duration_s = end - day_start
    back = (end - timed[-1].departure) if timed else 0
    plan.params = {**p, "day_end": end, "return_travel_s": back}
    plan.notes = warnings
    return warnings


def move_stop(stop: RouteStop, direction: str) -> list[Any]:
    """Swap a stop with its neighbour (``up``/``down``) and retime the plan (flushes)."""
    if direction not in ("up", "down"):
        raise ValidationError("direction", _("must be 'up' or 'down'"))
    stops = sorted(stop.plan.stops, key=lambda s: s.seq)
    i = stops.index(stop)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(stops):
        raise ValidationError("direction", _("stop %(num)s is already the first", num=stop.seq)
                              if direction == "up"
                              else _("stop %(num)s is already the last", num=stop.seq))
    stops[i].seq, stops[j].seq = stops[j].seq, stops[i].seq
    warnings = retime(stop.plan)
    db.session.flush()
    return warnings


def _best_position(plan: RoutePlan, account: Account) -> int:
    """Where inserting ``account`` adds the least distance (cheapest insertion)."""
    home = (float(plan.rep.home_lat), float(plan.rep.home_lon))
    start = tuple((plan.params or {}).get("start") or home)
    stops = sorted(plan.stops, key=lambda s: s.seq)
    pts = [start] + [(float(s.account.lat), float(s.account.lon)) for s in stops] + [home]
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
        raise ValidationError("rep_id", _("that rep has no plan on this day in this run"))
    if target.id == source.id:
        raise ValidationError("rep_id", _("the stop is already on this rep's plan"))
    if not covers(target.rep, stop.account):
        raise ValidationError("rep_id", _("%(name)s does not work this account's territory",
                                          name=target.rep.name))
    account = stop.account
    source.stops.remove(stop)
    db.session.delete(stop)
    new = _insert(target, account)
    retime(source)
    retime(target)
    db.session.flush()
    return new


def toggle_pin(stop: RouteStop) -> bool:
    """Pin (or unpin) a stop to its rep and day for the next re-run."""
    stop.pinned = not stop.pinned
    db.session.flush()
    return stop.pinned


def assign_unassigned(run: PlanRun, account_id: int, rep_id: int, day: date) -> RouteStop:
    """Put a left-out account on a rep's plan by hand (pinned), at the cheapest position."""
    require_draft(run)
    result = PlanResult.of_run(run)
    if result.left_out(account_id) is None:
        raise ValidationError("account_id", _("is not in this run's unassigned list"))
    plan = next((p for p in run.plans if p.rep_id == rep_id and p.plan_date == day), None)
    if plan is None:
        raise ValidationError("rep_id", _("that rep has no plan on this day in this run"))
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFoundError(f"No account {account_id}.")
    if not covers(plan.rep, account):
        raise ValidationError("rep_id", _("%(name)s does not work this account's territory",
                                          name=plan.rep.name))
    stop = _insert(plan, account)
    retime(plan)
    run.result = result.without(account_id).to_json()
    db.session.flush()
    return stop


def rerun(run: PlanRun, user: User) -> Job:
    """Plan the run again with the planner's pins (pinned stops stay with their rep and day)."""
    require_draft(run)
    run.params = rerun_request(run).to_json()
    return submit(run, user)


def _tell_rep(plan: RoutePlan) -> None:
    """Queue "your plan is published" for the plan's rep (sent later by a job)."""
    stops = len(plan.stops)

    def render() -> tuple[str, str]:
        day = local_date(plan.plan_date)
        return (_("Your route for %(day)s is published", day=day),
                ngettext("%(num)d visit is planned for %(day)s. Open Today in the app.",
                         "%(num)d visits are planned for %(day)s. Open Today in the app.",
                         stops, day=day))

    outbox.queue(plan.rep, "plan_published", render, url="/app/")


def publish(run: PlanRun) -> int:
    """Publish every plan of the run; earlier published plans for the same rep and day are
    archived, so Today shows exactly one. Returns the number of plans published (flushes)."""
    require_draft(run)
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
        _tell_rep(plan)
        webhooks.emit_object("plan.published", plan)
    run.status = PlanStatus.PUBLISHED
    run.published_at = now
    db.session.flush()
    return count
