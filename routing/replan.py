"""Re-plan the rest of a rep's day without reshuffling it.

Field users' complaint about mid-day re-plans is that they reshuffle the whole day. So the
rep's current order is the starting point: OR-Tools restores it as its first solution
(``ReadAssignmentFromRoutes``), trimming stops that no longer fit, and searches from there.
The new order replaces the current one only when it serves more (or more important) visits,
or saves at least :attr:`KeepOrder.min_gain_ratio` of the remaining travel time or
:attr:`KeepOrder.min_gain_s` seconds. Every difference is reported in words.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from routing import checks
from routing.daymodel import DayModel, SolveParams, penalty
from routing.matrix import GreatCircle, TravelProvider
from routing.model import DAY, Break, Location, Plan, Problem, Rep, TimeWindow, Visit


@dataclass(frozen=True)
class KeepOrder:
    """When a new order may replace the rep's current one, and what counts as a shift."""

    min_gain_ratio: float = 0.10  # of the remaining travel time
    min_gain_s: int = 900  # or this many seconds of travel saved
    report_shift_s: int = 300  # report a stop whose start moves by at least this much


class ChangeKind(enum.StrEnum):
    """What happened to a stop."""

    MOVED = "moved"
    DROPPED = "dropped"
    ADDED = "added"
    SHIFTED = "shifted"


@dataclass(frozen=True)
class Change:
    """One difference from the rep's current plan, in a code and in words."""

    kind: ChangeKind
    visit_id: str
    text: str


@dataclass(frozen=True)
class Replan:
    """The rest of the day, whether the order was kept, and what changed.

    ``plan`` starts at the rep's position and time; ``summary`` is ready to show (its first
    line says whether the order was kept and why); ``changes`` lists each stop's change.
    """

    plan: Plan
    kept_order: bool
    changes: tuple[Change, ...]
    summary: tuple[str, ...]
    kept_travel_s: int
    best_travel_s: int


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _lcs(a: Sequence[str], b: Sequence[str]) -> set[str]:
    """Items of the longest common subsequence: the stops that kept their relative order."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = (table[i + 1][j + 1] + 1 if a[i] == b[j]
                           else max(table[i + 1][j], table[i][j + 1]))
    out, i, j = set(), 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            out.add(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _trim(model: DayModel, order: Sequence[str], must: set[str]) -> list[str]:
    """The current order minus the stops that no longer fit, must-visits (appointments) first.

    Each other stop is tried back in its current place, in order, and kept if the day still
    works: the smallest change a rep would make by hand.
    """
    kept = [vid for vid in order if vid in must]
    if model.from_routes([kept]) is None:
        kept = []
        for vid in order:
            if model.from_routes([[*kept, vid]]) is not None:
                kept.append(vid)
        return kept
    for vid in order:
        if vid in must:
            continue
        trial = [x for x in order if x in kept or x == vid]
        if model.from_routes([trial]) is not None:
            kept = trial
    return kept


def rest_of_day(rep: Rep, *, now: int, position: Location, completed: int = 0,
                breaks_taken: int = 0) -> Rep:
    """The rep as the solver sees the rest of the day: from here and now, home at the end.

    Breaks already taken (the first ``breaks_taken``) or whose latest start has passed are
    gone; a break that may still start begins no earlier than now. ``completed`` visits
    count against the rep's maximum.
    """
    now = checks.seconds("rest_of_day", "now", now, maximum=2 * DAY)
    checks.number("rest_of_day", "completed", completed, minimum=0)
    checks.number("rest_of_day", "breaks_taken", breaks_taken, minimum=0)
    start = max(now, rep.shift.start)
    breaks = tuple(Break(max(b.earliest, start), b.latest, b.duration)
                   for b in rep.breaks[breaks_taken:] if b.latest >= start)
    max_visits = None if rep.max_visits is None else max(0, rep.max_visits - completed)
    return replace(rep, start=position, end=rep.home_end,
                   shift=TimeWindow(start, max(start, rep.shift.end)), breaks=breaks,
                   max_visits=max_visits)


def replan(
    rep: Rep,
    remaining: Sequence[Visit],
    *,
    now: int,
    position: Location,
    current_order: Sequence[str],
    completed: Sequence[str] = (),
    breaks_taken: int = 0,
    appointments: Mapping[str, TimeWindow] | None = None,
    planned_starts: Mapping[str, int] | None = None,
    keep: KeepOrder | None = None,
    time_limit: float = 2.0,
    params: SolveParams | None = None,
    provider: TravelProvider | None = None,
    circuity: float = 1.3,
) -> Replan:
    """Re-plan what is left of ``rep``'s day from ``position`` at ``now`` (seconds after midnight).

    ``remaining`` are the visits still to do (any listed in ``completed`` are ignored; their
    count is taken off the rep's maximum); ``current_order`` is their order in the current
    plan (visits not in it are new and reported as added). ``appointments`` pin visits to a
    fixed time window and make them must-visit (the window holds the whole visit: an hour's
    appointment at 10:00 is ``TimeWindow(36000, 39600)``). ``planned_starts`` (visit id →
    planned start) lets the answer report stops whose start moves by ``keep.report_shift_s``
    or more.

    Deterministic for a given ``params.solution_limit``; never raises for an infeasible
    day: stops that no longer fit are dropped with their reason.
    """
    checks.time_limit(time_limit)
    keep = keep or KeepOrder()
    params = params or SolveParams()
    provider = provider or GreatCircle(circuity)
    appointments = appointments or {}
    done = set(completed)
    visits = []
    for v in remaining:
        if v.id in done:
            continue
        if v.id in appointments:
            v = replace(v, windows=(appointments[v.id],), must_visit=True)
        visits.append(v)
    today = rest_of_day(rep, now=now, position=position, completed=len(done),
                        breaks_taken=breaks_taken)
    model = DayModel(Problem((today,), tuple(visits), circuity), provider)
    model.close(time_limit, params)
    order = [vid for vid in current_order if vid in model.index_of]
    kept = model.from_routes([order])
    if kept is None:
        kept = model.from_routes([_trim(model, order, {v.id for v in visits if v.must_visit})])
    best = model.search(kept)
    kept_plan = model.plan(kept)
    best_plan = model.plan(best) if best is not None else kept_plan
    by_id = {v.id: v for v in visits}

    def lost(plan: Plan) -> int:
        return sum(penalty(by_id[u.visit_id]) for u in plan.unassigned)

    kept_t, best_t = kept_plan.routes[0].travel_s, best_plan.routes[0].travel_s
    gain = kept_t - best_t
    summary: list[str] = [f"Re-planned at {_hhmm(today.shift.start)} from "
                          f"{position.lat:.5f}, {position.lon:.5f}."]
    if lost(best_plan) < lost(kept_plan):
        chosen, kept_order = best_plan, False
        more = len(best_plan.served) - len(kept_plan.served)
        summary.append("New order: the current one no longer fits everything"
                       + (f"; this one fits {more} more stop{'s' if more != 1 else ''}."
                          if more > 0 else "; this one keeps the more important stops."))
    elif gain > 0 and (gain >= keep.min_gain_s
                       or (kept_t and gain / kept_t >= keep.min_gain_ratio)):
        chosen, kept_order = best_plan, False
        summary.append(f"New order: saves {gain // 60} min of travel "
                       f"({100 * gain / kept_t:.0f} %).")
    else:
        chosen, kept_order = kept_plan, True
        cut = len([v for v in order if v not in kept_plan.served])
        if cut:
            summary.append(f"Kept your order, less {cut} stop{'s' if cut != 1 else ''} that "
                           "no longer fit.")
        elif gain > 0:
            summary.append(f"Kept your order: a new one would save only {gain // 60} min "
                           f"({100 * gain / kept_t:.0f} %) of travel.")
        else:
            summary.append("Kept your order: no better one found.")

    changes: list[Change] = []
    new_order = [s.visit_id for s in chosen.routes[0].stops]
    old_common = [v for v in current_order if v in new_order]
    new_common = [v for v in new_order if v in old_common]
    steady = _lcs(old_common, new_common)
    for pos, vid in enumerate(new_order, start=1):
        if vid not in current_order:
            changes.append(Change(ChangeKind.ADDED, vid, f"{vid} added as the {_ordinal(pos)} "
                                                         "stop."))
        elif vid not in steady:
            was = old_common.index(vid) + 1
            where = (f"from {_ordinal(was)} to {_ordinal(pos)}" if was != pos
                     else f"(now after {new_order[pos - 2]})" if pos > 1 else "(now first)")
            changes.append(Change(ChangeKind.MOVED, vid, f"{vid} moved {where}."))
    reasons = {u.visit_id: u.text for u in chosen.unassigned}
    for vid in current_order:
        if vid in done or vid in new_order:
            continue
        text = reasons.get(vid, "no longer among the visits to do")
        changes.append(Change(ChangeKind.DROPPED, vid, f"{vid} dropped: {text}."))
    if planned_starts:
        for s in chosen.routes[0].stops:
            was_start = planned_starts.get(s.visit_id)
            if was_start is not None and abs(s.start - was_start) >= keep.report_shift_s:
                delta = (s.start - was_start) // 60
                changes.append(Change(
                    ChangeKind.SHIFTED, s.visit_id,
                    f"{s.visit_id} now starts {_hhmm(s.start)} (was {_hhmm(was_start)}, "
                    f"{abs(delta)} min {'later' if delta > 0 else 'earlier'})."))
    summary += [c.text for c in changes]
    return Replan(chosen, kept_order, tuple(changes), tuple(summary), kept_t, best_t)
