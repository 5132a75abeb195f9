"""Re-plan the rest of a published day from where the rep is, and say what changed as a
person would ("Kahvila Sävy moved after lunch; 2 visits dropped: closed after 15:00").

:func:`routing.replan` keeps the rep's order unless a new one saves 10 % or 15 minutes of
travel (``routing.KeepOrder``), so a rep's day is not reshuffled for a few hundred metres.
The library reports changes by visit id; this module turns them into account names, times
and reasons, grouped so a day with many changes still reads in a few lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _

import routing
from geocrm.clock import local_zone
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import RoutePlan, RouteStop, User
from geocrm.params import to_float
from geocrm.planning.base import DAY, LUNCH_SLACK_S, hhmm, local_now, to_local_seconds, visit_key
from geocrm.planning.edits import Timed, set_times
from geocrm.planning.hours import windows_on
from geocrm.planning.notes import Note, english, from_library, library_notes, minutes, note
from geocrm.planning.notes import names as list_names
from geocrm.planning.problem import (
    Position,
    account_visit,
    home_position,
    last_known_position,
    routing_rep,
    solve_params,
    without_skills,
)
from geocrm.region.travel import travel_notes, travel_provider


def parse_position(form: Any) -> tuple[float, float] | None:
    """Where the phone says the rep is (``lat``/``lon``), or ``None`` when not sent."""
    raw_lat, raw_lon = (form.get("lat") or "").strip(), (form.get("lon") or "").strip()
    if not raw_lat and not raw_lon:
        return None
    lat = to_float(raw_lat, "lat", lo=-90.0, hi=90.0)
    lon = to_float(raw_lon, "lon", lo=-180.0, hi=180.0)
    assert lat is not None and lon is not None
    return lat, lon


def parse_clock(value: str | None) -> int | None:
    """``HH:MM`` → seconds after midnight; empty → ``None``."""
    if not value or not value.strip():
        return None
    try:
        hours, minutes = (int(x) for x in value.strip().split(":"))
    except ValueError as exc:
        raise ValidationError(
            "at", _("%(value)s is not a time (HH:MM)", value=repr(value))) from exc
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValidationError("at", _("%(value)s is not a time (HH:MM)", value=repr(value)))
    return hours * 3600 + minutes * 60


def replan_origin(plan: RoutePlan, phone: tuple[float, float] | None) -> Position:
    """Where the rest of the day starts: the phone's position when it sent one, else the
    rep's last check-in that day, else the last stop marked visited, else home. Nobody has
    to type coordinates."""
    if phone is not None:
        return Position(phone[0], phone[1], "phone", "where you are now")
    known = last_known_position(plan.rep, plan.plan_date)
    if known is not None:
        return known
    visited = [s for s in sorted(plan.stops, key=lambda s: s.seq) if s.status == "visited"]
    if visited:
        a = visited[-1].account
        return Position(float(a.lat), float(a.lon), "visit", a.name)
    return home_position(plan.rep)


@dataclass
class _Day:
    """What the re-plan knows about the stops still to do."""

    at_s: int
    shift_end: int
    lunch_s: int | None
    stops: dict[str, RouteStop]
    visits: list[routing.Visit] = field(default_factory=list)
    appointments: dict[str, routing.TimeWindow] = field(default_factory=dict)
    planned_starts: dict[str, int] = field(default_factory=dict)
    closes: dict[str, int] = field(default_factory=dict)  # last closing time today
    closed: list[str] = field(default_factory=list)


def _collect(plan: RoutePlan, todo: Sequence[RouteStop], at_s: int) -> _Day:
    """The visits still to do as ``routing`` visits; pinned ones as appointments."""
    tz = local_zone()
    rep = plan.rep
    day = _Day(at_s, rep.work_end_min * 60,
               rep.lunch_start_min * 60 if rep.lunch_start_min is not None else None,
               {visit_key(s.account_id): s for s in todo})
    for key, stop in day.stops.items():
        a = stop.account
        hours = windows_on(a.opening_hours, plan.plan_date)
        hours = [(0, DAY)] if hours is None else hours
        if not hours:
            day.closed.append(key)
            continue
        day.closes[key] = max(hi for _, hi in hours)
        visit = account_visit(a, hours)
        day.visits.append(visit)
        start = to_local_seconds(plan.plan_date, stop.start, tz)
        if start is not None:
            day.planned_starts[key] = start
            if stop.pinned:  # an appointment: the window holds the whole visit
                begin = max(start, at_s)
                day.appointments[key] = routing.TimeWindow(begin, begin + visit.duration)
    return day


def _why_dropped(key: str, day: _Day, reason: routing.Unassigned | None, rep: User) -> Note:
    """A dropped visit's reason in a rep's words (the library's, when none of ours fits)."""
    if key in day.closed:
        return note("closed_today")
    a = day.stops[key].account
    close = day.closes.get(key)
    closes_early = close is not None and close < min(DAY, day.shift_end)
    duration = max(0, int(a.visit_minutes or 0)) * 60
    if closes_early and close is not None and close - duration <= day.at_s:
        return note("closed_after", time=hhmm(close))
    if reason is None:
        return note("no_longer_fits")
    if reason.reason == routing.Reason.OUTSIDE_WINDOWS and closes_early and close is not None:
        return note("closed_after", time=hhmm(close))
    if reason.reason in (routing.Reason.SHIFT_TOO_SHORT, routing.Reason.OUTSIDE_WINDOWS):
        return note("no_time_left", time=hhmm(day.shift_end))
    if reason.reason == routing.Reason.CAPACITY:
        return note("max_visits", name=rep.name)
    found = from_library(reason.text)
    return found if isinstance(found, dict) else note(str(reason.reason))


def _moved_words(name: str, was: int | None, now: int, day: _Day, new_pos: int,
                 old_pos: int) -> Note:
    if day.lunch_s is not None and was is not None:
        lunch_end = day.lunch_s + LUNCH_SLACK_S
        if was < day.lunch_s <= now:
            return note("moved_after_lunch", name=name, time=hhmm(now))
        if was >= lunch_end > now:
            return note("moved_before_lunch", name=name, time=hhmm(now))
    return note("moved", name=name, old=old_pos, new=new_pos, time=hhmm(now))


def describe(result: routing.Replan, day: _Day, origin: Position, rep: User) -> list[Any]:
    """What changed, as notes with account names and times (no internal ids); the library's
    verdict on the order (kept, or new and why) as a note when its form is known."""
    names = {k: s.account.name for k, s in day.stops.items()}
    route = result.plan.routes[0]
    starts = {st.visit_id: st.start for st in route.stops}
    lines: list[Any] = [note("replanned", time=hhmm(day.at_s), origin=origin.note())]
    change_texts = {c.text for c in result.changes}
    lines += library_notes([s for s in result.summary[1:] if s not in change_texts])
    reasons = {u.visit_id: u for u in result.plan.unassigned}
    moved: list[Note] = []
    dropped: dict[str, tuple[Note, list[str]]] = {}
    shifted: list[tuple[str, int]] = []
    old_order = [k for k in day.stops if k not in day.closed]
    new_order = [st.visit_id for st in route.stops]

    def drop(why: Note, name: str) -> None:
        dropped.setdefault(json.dumps(why, sort_keys=True), (why, []))[1].append(name)

    for c in result.changes:
        name = names.get(c.visit_id, "?")
        if c.kind == routing.ChangeKind.MOVED:
            moved.append(_moved_words(name, day.planned_starts.get(c.visit_id),
                                      starts[c.visit_id], day, new_order.index(c.visit_id) + 1,
                                      old_order.index(c.visit_id) + 1))
        elif c.kind == routing.ChangeKind.ADDED:
            moved.append(note("added", name=name, time=hhmm(starts[c.visit_id])))
        elif c.kind == routing.ChangeKind.DROPPED:
            drop(_why_dropped(c.visit_id, day, reasons.get(c.visit_id), rep), name)
        elif c.kind == routing.ChangeKind.SHIFTED and c.visit_id not in {
                x.visit_id for x in result.changes if x.kind == routing.ChangeKind.MOVED}:
            was = day.planned_starts.get(c.visit_id, starts[c.visit_id])
            shifted.append((name, (starts[c.visit_id] - was) // 60))
    for key in day.closed:
        drop(note("closed_today"), names[key])
    lines += moved
    lines += _shift_lines(shifted)
    for why, who in dropped.values():
        lines.append(note("dropped_one", name=who[0], why=why) if len(who) == 1
                     else note("dropped_many", num=len(who), why=why, names=list_names(who)))
    return lines


def _shift_lines(shifted: Sequence[tuple[str, int]]) -> list[Note]:
    """Start times that moved, in one line per direction ("3 visits start later, by 10–25
    min: A, B, C")."""
    out = []
    for one, many, group in (("starts_later", "start_later_many", [s for s in shifted if s[1] > 0]),
                             ("starts_earlier", "start_earlier_many",
                              [s for s in shifted if s[1] < 0])):
        if not group:
            continue
        mins = sorted(abs(m) for _, m in group)
        by = minutes(mins[0], mins[-1])
        if len(group) == 1:
            out.append(note(one, name=group[0][0], by=by))
        else:
            out.append(note(many, num=len(group), by=by,
                            names=list_names([n for n, _ in group])))
    return out


def _apply(plan: RoutePlan, result: routing.Replan, day: _Day, done: Sequence[RouteStop],
           reasons: Mapping[str, Note]) -> None:
    """Write the new order and times; what no longer fits is skipped, with the reason."""
    tz = local_zone()
    seq = len(done)
    order = [st.visit_id for st in result.plan.routes[0].stops]
    for st in result.plan.routes[0].stops:
        seq += 1
        stop = day.stops[st.visit_id]
        stop.seq = seq
        set_times(stop, plan.plan_date, Timed(st.arrival, st.start, st.departure,
                                              st.leg_travel_s, int(st.leg_distance_m), True), tz)
    left_out = list(plan.unassigned or [])
    for key in [k for k in day.stops if k not in order]:
        seq += 1
        stop = day.stops[key]
        stop.seq = seq
        stop.status = "skipped"
        why = reasons.get(key) or note("no_longer_fits")
        left_out.append({"account_id": stop.account_id, "name": stop.account.name,
                         "date": plan.plan_date.isoformat(), "reason": "replan",
                         "text": english(why), "why": why})
    for i, s in enumerate(done, start=1):
        s.seq = i
    plan.unassigned = left_out


def replan_day(plan: RoutePlan, *, position: tuple[float, float] | None,
               at_s: int | None) -> list[Any]:
    """Re-plan what is left of a published day from the rep's position and time (flushes).

    :func:`routing.replan` does the work: visited and skipped stops stay as they are;
    pinned stops are appointments at their planned time (the window holds the whole visit);
    the remaining order is kept unless a new one saves enough travel or the old one no
    longer fits; visits that no longer fit are marked skipped, with the reason. Without a
    position it starts from the rep's last known one (see :func:`replan_origin`). Returns
    what changed as notes (``geocrm.planning.notes``; also kept in the plan's notes), put
    into words in the reader's language when shown.
    """
    rep = plan.rep
    stops = sorted(plan.stops, key=lambda s: s.seq)
    done = [s for s in stops if s.status != "planned"]
    todo = [s for s in stops if s.status == "planned"]
    if not todo:
        return [note("nothing_to_replan")]
    if at_s is None:
        now = local_now(local_zone())
        at_s = (now.hour * 3600 + now.minute * 60 if now.date() == plan.plan_date
                else rep.work_start_min * 60)
    if at_s >= rep.work_end_min * 60:
        raise ValidationError("at", _("the working day ended at %(time)s",
                                      time=hhmm(rep.work_end_min * 60)))
    origin = replan_origin(plan, position)
    day = _collect(plan, todo, at_s)
    lunch_over = day.lunch_s is not None and at_s >= day.lunch_s + LUNCH_SLACK_S
    search = solve_params()[1]
    result = routing.replan(
        without_skills(routing_rep(rep), float((plan.params or {}).get("speed_kmh") or 30.0)),
        day.visits, now=at_s, position=origin.location,
        current_order=[k for k in day.stops if k not in day.closed],
        completed=[visit_key(s.account_id) for s in done if s.status == "visited"],
        breaks_taken=1 if lunch_over else 0, appointments=day.appointments,
        planned_starts=day.planned_starts,
        time_limit=float(current_app.config.get("GEOCRM_REPLAN_TIME_LIMIT", 2.0)),
        params=search, provider=travel_provider())
    unassigned = {u.visit_id: u for u in result.plan.unassigned}
    reasons = {k: _why_dropped(k, day, unassigned.get(k), rep) for k in day.stops}
    _apply(plan, result, day, done, reasons)
    summary = describe(result, day, origin, rep)
    kept = list(plan.notes or [])
    plan.notes = kept + summary + [n for n in library_notes(travel_notes(result.plan.notes))
                                   if n not in kept]
    db.session.flush()
    return summary


