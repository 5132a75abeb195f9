"""Locks a planner can trust, and manual moves checked at once (issue 15, item 5).

A planner may lock a stop's place in a rep's route (``RouteStop.position_locked``: the
re-run keeps it as that rep's stop number ``seq``) or a rep's whole route
(``RoutePlan.route_locked``: exactly these stops in this order, nothing added); the re-run
re-optimises everything else around them (:func:`apply_locks` turns the locks into
``routing.Visit.position`` and ``routing.Rep.route_locked``; the OR-Tools model keeps them).

A manual move (drag a stop to another place or another rep) is checked before it is saved:
:func:`check_move` drives the rep's day in the new order with :func:`routing.check_order`
(the solver's own rules: opening windows, the lunch break, the shift, the most visits a
day) and says what it breaks — a late arrival, a shop closed that day, overtime, no room for
lunch — as structured records the page puts into words in the reader's language
(:func:`violation_words`). Services flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flask_babel import gettext, ngettext

import routing
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, RoutePlan, RouteStop, User
from geocrm.planning.base import DAY, hhmm, rep_key, visit_key
from geocrm.planning.edits import retime
from geocrm.planning.hours import windows_on
from geocrm.planning.lockset import RunLocks
from geocrm.planning.notes import note
from geocrm.planning.problem import DayProblem, account_visit, routing_rep
from geocrm.planning.scope import covers, require_draft
from geocrm.region.travel import travel_provider


# -- locking ---------------------------------------------------------------------------------
def lock_stop(stop: RouteStop, locked: bool) -> bool:
    """Lock (or unlock) a stop at its place in its rep's route; a locked stop is also
    pinned to that rep and day (flushes)."""
    require_draft(stop.plan.run)
    stop.position_locked = bool(locked)
    if locked:
        stop.pinned = True
    db.session.flush()
    return stop.position_locked


def lock_route(plan: RoutePlan, locked: bool) -> bool:
    """Lock (or unlock) a rep's whole route for the next re-run (flushes)."""
    if plan.run is None:
        raise ValidationError("plan", "only a plan of a planning run can be locked")
    require_draft(plan.run)
    plan.route_locked = bool(locked)
    db.session.flush()
    return plan.route_locked


def apply_locks(dp: DayProblem, locks: RunLocks) -> DayProblem:
    """The day's ``routing.Problem`` with the run's locks for that day.

    A locked stop becomes a visit at that position of its (pinned) rep's route; a locked
    route's rep takes exactly its locked visits, renumbered 1, 2, 3... in their order so an
    account that has gone since (archived) leaves no gap.
    """
    if dp.problem is None or not (locks.positions or locks.routes):
        return dp
    day = dp.day
    locked_reps = {rep_key(r) for r, d in locks.routes if d == day}
    wanted: dict[str, tuple[str, int]] = {}
    for key, account in dp.accounts.items():
        lock = locks.positions.get(account.id)
        if lock is not None and lock[1] == day:
            wanted[key] = (rep_key(lock[0]), lock[2])
    for rep in locked_reps:  # renumber a locked route without gaps
        mine = sorted((p, k) for k, (r, p) in wanted.items() if r == rep)
        for i, (_, k) in enumerate(mine, start=1):
            wanted[k] = (rep, i)
    visits = []
    for v in dp.problem.visits:
        lock = wanted.get(v.id)
        if lock is not None and v.pinned_rep == lock[0]:
            v = replace(v, position=lock[1], must_visit=True)
        elif v.pinned_rep in locked_reps:
            # Only that rep may go (a pin, or the rep owns it) and their route is locked:
            # left out, and the plan says why.
            rep = db.session.get(User, int(str(v.pinned_rep)[1:]))
            dp.left_out.append((dp.accounts.pop(v.id), "route_locked",
                                note("route_locked", rep=rep.name if rep else "")))
            continue
        visits.append(v)
    reps = tuple(replace(r, route_locked=True) if r.id in locked_reps else r
                 for r in dp.problem.reps)
    dp.problem = routing.Problem(reps, tuple(visits), dp.problem.circuity)
    return dp


def week_locks(locks: RunLocks, keys: Iterable[str], rep_ids: Iterable[int]
               ) -> tuple[routing.WeekLock, ...]:
    """The run's locks for ``routing.plan_week`` (a cadence run): per locked rep and day, the
    accounts of ``keys`` (visit keys) locked there at their stop numbers, and whether the
    whole route is locked. Reps not in the run are left out."""
    known, reps = set(keys), set(rep_ids)
    days: dict[tuple[int, date], list[tuple[str, int]]] = {r: [] for r in locks.routes}
    for aid, (rid, day, pos) in locks.positions.items():
        if visit_key(aid) in known:
            days.setdefault((rid, day), []).append((visit_key(aid), pos))
    return tuple(routing.WeekLock(rep_key(rid), day, tuple(sorted(held, key=lambda x: x[1])),
                                  (rid, day) in locks.routes)
                 for (rid, day), held in sorted(days.items()) if rid in reps)


def keep_week_locks(dp: DayProblem, plan: routing.Plan,
                    locks: Sequence[routing.WeekLock]) -> None:
    """Mark a cadence day's problem with the locks its plan kept, so the new drafts stay
    locked like a day run's (the writer reads ``route_locked`` and ``position``): every stop
    of a locked route, and each locked stop, at its place in the route."""
    mine = [x for x in locks if x.day == dp.day]
    if not mine or dp.problem is None:
        return
    routes = {x.rep_id for x in mine if x.route}
    held = {aid for x in mine for aid, _ in x.positions}
    visits = [replace(account_visit(dp.accounts[s.visit_id], [(0, DAY)]), pinned_rep=r.rep_id,
                      position=i, must_visit=True)
              for r in plan.routes for i, s in enumerate(r.stops, start=1)
              if r.rep_id in routes or s.visit_id in held]
    reps = tuple(replace(r, route_locked=r.id in routes) for r in dp.problem.reps)
    dp.problem = routing.Problem(reps, tuple(visits), dp.problem.circuity)


# -- manual moves, checked ---------------------------------------------------------------------
@dataclass(frozen=True)
class MoveCheck:
    """What a manual move would break: on the rep's day it lands in, and (moved to another
    rep) what it newly breaks on the day it leaves, those records marked ``"left": rep``."""

    plan: RoutePlan
    position: int
    violations: tuple[dict[str, Any], ...]


def _target(stop: RouteStop, rep_id: int) -> RoutePlan:
    source = stop.plan
    if rep_id == source.rep_id:
        return source
    target = next((p for p in source.run.plans
                   if p.rep_id == rep_id and p.plan_date == source.plan_date), None)
    if target is None:
        raise ValidationError("rep_id", gettext("that rep has no plan on this day in this run"))
    if not covers(target.rep, stop.account):
        raise ValidationError("rep_id", gettext("%(name)s does not work this account's "
                                                "territory", name=target.rep.name))
    if target.route_locked:
        raise ValidationError("rep_id", gettext("%(name)s's route is locked",
                                                name=target.rep.name))
    return target


def new_order(stop: RouteStop, target: RoutePlan, position: object) -> tuple[list[Account], int]:
    """The target day's accounts with ``stop`` at ``position`` (1-based, clamped to the
    route's length) and that position; a position that is not a whole number is refused."""
    try:
        pos = int(str(position))
    except ValueError:
        raise ValidationError("position", gettext("must be a stop number")) from None
    others = [s for s in sorted(target.stops, key=lambda s: s.seq) if s.id != stop.id]
    pos = min(max(1, pos), len(others) + 1)
    accounts = [s.account for s in others]
    accounts.insert(pos - 1, stop.account)
    return accounts, pos


def check_accounts(plan: RoutePlan, accounts: Sequence[Account]) -> list[dict[str, Any]]:
    """Drive ``accounts`` in this order on ``plan``'s day and list what it breaks, as
    records ``{"kind", "name", "at", "limit"}`` (times as HH:MM)."""
    p = plan.params or {}
    rep = routing_rep(plan.rep)
    shift = p.get("shift")
    if shift:
        rep = replace(rep, shift=routing.TimeWindow(int(shift[0]), int(shift[1])))
    rep = replace(rep, speed_kmh=float(p.get("speed_kmh") or rep.speed_kmh))
    origin = routing.Location(*p["start"]) if p.get("start") else None
    start_at = int(p.get("start_at", p.get("day_start", rep.shift.start)))
    out: list[dict[str, Any]] = []
    visits = []
    names = {}
    for a in accounts:
        hours = windows_on(a.opening_hours, plan.plan_date)
        if hours is not None and not hours:
            out.append({"kind": routing.ViolationKind.CLOSED.value, "name": a.name,
                        "at": "", "limit": ""})
            continue
        v = account_visit(a, [(0, DAY)] if hours is None else hours)
        names[v.id] = a.name
        visits.append(v)
    got = routing.check_order(rep, visits, start_at=start_at, origin=origin,
                              provider=travel_provider())
    for x in got.violations:
        count = x.kind == routing.ViolationKind.TOO_MANY
        out.append({"kind": x.kind.value, "name": names.get(x.visit_id or "", ""),
                    "at": str(x.at) if count else hhmm(x.at),
                    "limit": str(x.limit) if count else hhmm(x.limit)})
    return out


def check_move(stop: RouteStop, rep_id: int, position: object) -> MoveCheck:
    """What moving ``stop`` to stop ``position`` of ``rep_id``'s day (same run, same date)
    would break there; nothing is changed."""
    if stop.plan.route_locked and rep_id != stop.plan.rep_id:
        raise ValidationError("stop", gettext("this route is locked: unlock it to change it"))
    target = _target(stop, rep_id)
    accounts, pos = new_order(stop, target, position)
    return MoveCheck(target, pos, tuple(check_accounts(target, accounts)
                                        + _left_behind(stop, target)))


def _left_behind(stop: RouteStop, target: RoutePlan) -> list[dict[str, Any]]:
    """What the day ``stop`` leaves (before it is moved) newly breaks without it; nothing
    when it stays with its rep. Records not already broken before the move, marked with the
    rep's name."""
    source = stop.plan
    if target.id == source.id:
        return []
    was = [s.account for s in sorted(source.stops, key=lambda s: s.seq)]
    now = [a for a in was if a.id != stop.account_id]
    known = {(v["kind"], v["name"]) for v in check_accounts(source, was)}
    return [{**v, "left": source.rep.name} for v in check_accounts(source, now)
            if (v["kind"], v["name"]) not in known]


def move_to(stop: RouteStop, rep_id: int, position: object) -> MoveCheck:
    """Move ``stop`` to stop ``position`` of ``rep_id``'s day and retime both days
    (flushes). Moved to another rep it is pinned there; what the move breaks is returned
    (and kept as the plan's warnings by :func:`geocrm.planning.edits.retime`)."""
    source = stop.plan
    if source.route_locked:
        raise ValidationError("stop", gettext("this route is locked: unlock it to change it"))
    target = _target(stop, rep_id)
    _, pos = new_order(stop, target, position)
    behind = _left_behind(stop, target)
    if target.id != source.id:
        account = stop.account
        source.stops.remove(stop)
        db.session.delete(stop)
        moved = RouteStop(account_id=account.id, seq=0, pinned=True, status="planned")
        moved.account = account
        target.stops.append(moved)
        stop = moved
    ordered = [s for s in sorted(target.stops, key=lambda s: s.seq) if s is not stop]
    ordered.insert(pos - 1, stop)
    for i, s in enumerate(ordered, start=1):
        s.seq = i
    if target.id != source.id:
        retime(source)
    retime(target)
    db.session.flush()
    violations = check_accounts(target, [s.account for s in ordered])
    return MoveCheck(target, pos, tuple(violations + behind))


def violation_words(v: Mapping[str, Any]) -> str:
    """One violation record in the reader's language (on the day a moved stop leaves, with
    whose day it is)."""
    words = _violation_words(v)
    if v.get("left"):
        return gettext("On %(rep)s's day: %(problem)s", rep=v["left"], problem=words)
    return words


def _violation_words(v: Mapping[str, Any]) -> str:
    kind = v.get("kind")
    if kind == "late":
        return gettext("%(name)s: arrives at %(time)s, after it closes (%(close)s)",
                       name=v["name"], time=v["at"], close=v["limit"])
    if kind == "closed":
        return gettext("%(name)s is closed on this day", name=v["name"])
    if kind == "overtime":
        return gettext("Back home at %(time)s, after the working day ends (%(end)s)",
                       time=v["at"], end=v["limit"])
    if kind == "break":
        return gettext("No room for lunch: it would start at %(time)s, later than %(latest)s",
                       time=v["at"], latest=v["limit"])
    if kind == "too_many":
        return ngettext("%(num)s visit, more than the %(max)s this rep takes a day",
                        "%(num)s visits, more than the %(max)s this rep takes a day",
                        int(v["at"]), max=v["limit"])
    return str(kind)


def lock_state(plan_id: int) -> dict[str, Any]:
    """``{"route": bool, "stops": {stop ids locked at their place}}`` for one plan."""
    plan = db.session.get(RoutePlan, plan_id)
    if plan is None:
        return {"route": False, "stops": set()}
    return {"route": bool(plan.route_locked),
            "stops": {s.id for s in plan.stops if s.position_locked}}
