"""A planner's own order for one rep, checked against the day's rules at once.

When a planner drags a stop to another place or another rep, the page must say straight
away what that breaks: a visit that arrives after the shop has closed, a visit on a day
the shop is closed, a day that ends after the shift, a lunch break that no longer fits, more
visits than the rep takes. :func:`check_order` drives the order as given (it never
reorders: that is the point of a manual move) with the same rules as the planning model —
a visit starts inside one of its windows and finishes before that window closes; waiting
for a shop to open is allowed; the break starts between its earliest and latest start —
and returns the times and every rule broken as structured records (kind, visit, when,
the limit), which the app puts into words in the reader's language.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from routing import checks
from routing.errors import ModelError
from routing.matrix import GreatCircle, TravelProvider
from routing.model import Location, Rep, Visit


class ViolationKind(enum.StrEnum):
    """What a manual order breaks."""

    LATE = "late"  # no opening window left when the rep gets there
    CLOSED = "closed"  # the place is closed all day (the caller knows; the model has windows)
    OVERTIME = "overtime"  # back home after the shift ends
    BREAK = "break"  # no room for the break between its earliest and latest start
    TOO_MANY = "too_many"  # more visits than the rep's most per day


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``at`` is when it happens, ``limit`` the time (or count) it passes."""

    kind: ViolationKind
    visit_id: str | None
    at: int
    limit: int


@dataclass(frozen=True)
class TimedStop:
    """A stop of the checked order: arrival, start (after any wait) and departure."""

    visit_id: str
    arrival: int
    start: int
    departure: int
    leg_travel_s: int
    leg_distance_m: int
    in_window: bool


@dataclass(frozen=True)
class OrderCheck:
    """The order driven as given: its stops, the break, the end, what it breaks."""

    stops: tuple[TimedStop, ...]
    break_start: int | None
    end: int
    distance_m: int
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def check_order(rep: Rep, visits: Sequence[Visit], *, start_at: int | None = None,
                origin: Location | None = None, provider: TravelProvider | None = None,
                circuity: float = 1.3) -> OrderCheck:
    """Drive ``visits`` in this order for ``rep`` and report every rule broken.

    ``start_at``/``origin``: a day already under way starts there and then (default: the
    shift start at the rep's start). The break (the rep's first) is taken at the first
    moment between stops at or after its earliest start, or before a stop that would
    otherwise run past its latest start (the rep waits for it) when that stop still fits
    after it; when the break cannot start in time it is a ``BREAK`` violation.
    """
    if not isinstance(rep, Rep):
        raise ModelError("check_order", "rep", f"expected a Rep, got {type(rep).__name__}")
    if any(not isinstance(v, Visit) for v in visits):
        raise ModelError("check_order", "visits", "every item must be a Visit")
    ids = [v.id for v in visits]
    if len(set(ids)) != len(ids):
        raise ModelError("check_order", "visits", "a visit appears twice in the order")
    clock = rep.shift.start if start_at is None else checks.seconds(
        "check_order", "start_at", start_at, maximum=2 * 24 * 3600)
    begin = origin or rep.start
    provider = provider or GreatCircle(circuity)
    points = [begin, *(v.location for v in visits), rep.home_end]
    m = provider.matrices(points, rep.speed_kmh)
    brk = rep.breaks[0] if rep.breaks else None
    break_start: int | None = None
    out: list[Violation] = []
    timed: list[TimedStop] = []
    total = 0

    def take_break(at: int) -> int:
        nonlocal break_start
        assert brk is not None
        break_start = max(at, brk.earliest)
        if break_start > brk.latest:
            out.append(Violation(ViolationKind.BREAK, None, break_start, brk.latest))
        return break_start + brk.duration

    for i, v in enumerate(visits, start=1):
        leg_t, leg_d = int(m.travel_s[i - 1, i]), int(m.distance_m[i - 1, i])
        if brk is not None and break_start is None and clock >= brk.earliest:
            clock = take_break(clock)
        arrival = clock + leg_t
        start = _start(v, arrival)
        if (brk is not None and break_start is None
                and (start if start is not None else arrival) + v.duration > brk.latest):
            # This visit would run past the latest start of the break: break first, unless
            # the visit then misses its window (then the break is what gives way).
            after = max(clock, brk.earliest) + brk.duration
            if after - brk.duration <= brk.latest and _start(v, after + leg_t) is not None:
                clock = take_break(clock)
                arrival = clock + leg_t
                start = _start(v, arrival)
        if start is None:
            out.append(Violation(ViolationKind.LATE, v.id, arrival,
                                 max(w.end for w in v.windows)))
        begun = start if start is not None else arrival
        timed.append(TimedStop(v.id, arrival, begun, begun + v.duration, leg_t, leg_d,
                               start is not None))
        total += leg_d
        clock = begun + v.duration
    n = len(visits)
    back_t, back_d = int(m.travel_s[n, n + 1]), int(m.distance_m[n, n + 1])
    if brk is not None and break_start is None and clock + back_t > brk.earliest:
        clock = take_break(clock)
    end = clock + back_t
    if end > rep.shift.end:
        out.append(Violation(ViolationKind.OVERTIME, None, end, rep.shift.end))
    if rep.max_visits is not None and n > rep.max_visits:
        out.append(Violation(ViolationKind.TOO_MANY, None, n, rep.max_visits))
    return OrderCheck(tuple(timed), break_start, end, total + back_d, tuple(out))


def _start(v: Visit, arrival: int) -> int | None:
    """When the visit can start (waiting for a window to open), or None when no window
    left can hold it."""
    for w in v.windows:
        begin = max(arrival, w.start)
        if begin + v.duration <= w.end:
            return begin
    return None
