"""The visit-planning model: frozen dataclasses that check themselves.

Times are seconds after midnight of the planned day; distances are metres. A visit must
*start* inside one of its windows and *finish* before that window closes (a shop that
closes for lunch at 12:00 does not take a 30-minute visit at 11:45).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from routing.checks import number, seconds
from routing.errors import ModelError

DAY = 24 * 3600


@dataclass(frozen=True)
class Location:
    """A point in WGS84 degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        number("Location", "lat", self.lat, minimum=-90, maximum=90)
        number("Location", "lon", self.lon, minimum=-180, maximum=180)


@dataclass(frozen=True)
class TimeWindow:
    """``[start, end]`` in seconds after midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", seconds("TimeWindow", "start", self.start))
        object.__setattr__(self, "end", seconds("TimeWindow", "end", self.end))
        if not 0 <= self.start <= self.end <= 2 * DAY:
            raise ModelError("TimeWindow", "end", f"[{self.start}, {self.end}] is not a window")


@dataclass(frozen=True)
class Break:
    """A break of ``duration`` seconds starting between ``earliest`` and ``latest``."""

    earliest: int
    latest: int
    duration: int

    def __post_init__(self) -> None:
        for name in ("earliest", "latest", "duration"):
            object.__setattr__(self, name, seconds("Break", name, getattr(self, name),
                                                   maximum=2 * DAY))
        if not self.earliest <= self.latest:
            raise ModelError("Break", "latest", "must not be before earliest")
        if self.duration <= 0:
            raise ModelError("Break", "duration", "must be positive")


@dataclass(frozen=True)
class Rep:
    """Someone who visits: where the day starts and ends, their shift and limits."""

    id: str
    start: Location
    shift: TimeWindow
    end: Location | None = None  # None: back to start
    breaks: tuple[Break, ...] = ()
    max_visits: int | None = None
    speed_kmh: float = 30.0
    skills: frozenset[str] = frozenset()
    # A planner locked this rep's whole route: only the visits pinned to this rep, each at
    # its locked ``Visit.position``, ride with them; nothing else is added.
    route_locked: bool = False

    def __post_init__(self) -> None:
        if not self.id:
            raise ModelError("Rep", "id", "is required")
        where = f"Rep {self.id}"
        if self.max_visits is not None:
            object.__setattr__(self, "max_visits",
                               seconds(where, "max_visits", self.max_visits))
        number(where, "speed_kmh", self.speed_kmh, positive=True, maximum=300)
        length = self.shift.end - self.shift.start
        for i, b in enumerate(self.breaks):
            if b.duration > length:
                raise ModelError(where, f"breaks[{i}]",
                                 f"the {b.duration // 60}-minute break is longer than the "
                                 f"{length // 60}-minute shift")

    @property
    def home_end(self) -> Location:
        return self.end or self.start


@dataclass(frozen=True)
class Visit:
    """A visit to plan: where, how long, when it may happen, how much it matters."""

    id: str
    location: Location
    duration: int
    windows: tuple[TimeWindow, ...] = (TimeWindow(0, DAY),)
    priority: int = 3  # 1 (highest) .. 5
    must_visit: bool = False
    pinned_rep: str | None = None
    skills: frozenset[str] = frozenset()
    # A planner locked this visit's place in its pinned rep's route: the ``position``-th
    # stop (1 = first). The rest of the day is re-optimised around it.
    position: int | None = None

    def __post_init__(self) -> None:
        where = f"Visit {self.id}"
        if not self.id:
            raise ModelError("Visit", "id", "is required")
        if self.position is not None:
            if number(where, "position", self.position, minimum=1) != int(self.position):
                raise ModelError(where, "position", f"{self.position!r} is not a whole number")
            if self.pinned_rep is None:
                raise ModelError(where, "position", "a locked position needs a pinned rep")
        object.__setattr__(self, "duration", seconds(where, "duration", self.duration,
                                                     maximum=2 * DAY))
        if not self.windows:
            raise ModelError(where, "windows", "needs at least one window")
        ordered = sorted(self.windows, key=lambda w: w.start)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.start < a.end:
                raise ModelError(where, "windows", "windows overlap")
        object.__setattr__(self, "windows", tuple(ordered))
        if isinstance(self.priority, bool) or self.priority not in (1, 2, 3, 4, 5):
            raise ModelError(where, "priority", "must be 1 (highest) to 5")


@dataclass(frozen=True)
class Problem:
    """One day for one or more reps."""

    reps: tuple[Rep, ...]
    visits: tuple[Visit, ...]
    circuity: float = 1.3

    def __post_init__(self) -> None:
        if not self.reps:
            raise ModelError("Problem", "reps", "needs at least one rep")
        for kind, items in (("reps", self.reps), ("visits", self.visits)):
            ids = [x.id for x in items]
            if len(ids) != len(set(ids)):
                dup = next(i for i in ids if ids.count(i) > 1)
                raise ModelError("Problem", kind, f"id {dup!r} is used twice")
        number("Problem", "circuity", self.circuity, minimum=1, maximum=10)
        taken: dict[tuple[str, int], str] = {}
        for v in self.visits:
            if v.position is None or v.pinned_rep is None:
                continue
            key = (v.pinned_rep, int(v.position))
            if key in taken:
                raise ModelError(f"Visit {v.id}", "position",
                                 f"stop {v.position} of {v.pinned_rep} is already locked "
                                 f"by {taken[key]}")
            taken[key] = v.id
        for r in self.reps:
            if not r.route_locked:
                continue
            held = sorted(int(v.position) for v in self.visits
                          if v.pinned_rep == r.id and v.position is not None)
            if held != list(range(1, len(held) + 1)):
                raise ModelError(f"Rep {r.id}", "route_locked",
                                 "a locked route needs its visits locked at positions "
                                 "1, 2, 3, ... without gaps")
            loose = [v.id for v in self.visits if v.pinned_rep == r.id and v.position is None]
            if loose:
                raise ModelError(f"Rep {r.id}", "route_locked",
                                 f"visit {loose[0]} is pinned to a locked route without a "
                                 "position")

    @property
    def has_locks(self) -> bool:
        """Whether a planner locked a route or a stop's position (PyVRP cannot express it)."""
        return any(r.route_locked for r in self.reps) or any(
            v.position is not None for v in self.visits)


class Reason(enum.StrEnum):
    """Why a visit is not in the plan."""

    OUTSIDE_WINDOWS = "outside_windows"
    SHIFT_TOO_SHORT = "shift_too_short"
    CAPACITY = "capacity"
    DROPPED_FOR_PRIORITY = "dropped_for_priority"
    SKILL_MISSING = "skill_missing"
    PINNED_REP_ABSENT = "pinned_rep_absent"
    WINDOW_TOO_SHORT = "window_too_short"
    NO_ROOM = "no_room"


REASON_TEXT = {
    Reason.OUTSIDE_WINDOWS: "no opening window falls inside any rep's shift",
    Reason.SHIFT_TOO_SHORT: "no rep can get there, do the visit and get home within the shift",
    Reason.CAPACITY: "every rep who could go is at their maximum number of visits",
    Reason.DROPPED_FOR_PRIORITY: "left out so that higher-priority visits fit the day",
    Reason.SKILL_MISSING: "no rep has the skills this visit needs",
    Reason.PINNED_REP_ABSENT: "the visit is pinned to a rep who is not in this plan",
    Reason.WINDOW_TOO_SHORT: "every opening window is shorter than the visit",
    Reason.NO_ROOM: "no room in any route today: every rep who could go has a full day",
}


@dataclass(frozen=True)
class Stop:
    """One planned visit: arrival, wait, start, departure, and the leg that led to it."""

    visit_id: str
    arrival: int
    wait: int
    start: int
    departure: int
    leg_distance_m: int
    leg_travel_s: int


@dataclass(frozen=True)
class RepRoute:
    """A rep's day: ordered stops, when the day starts and ends, totals."""

    rep_id: str
    stops: tuple[Stop, ...]
    start: int
    end: int
    distance_m: int
    travel_s: int
    service_s: int
    wait_s: int
    return_distance_m: int = 0
    return_travel_s: int = 0


@dataclass(frozen=True)
class Unassigned:
    """A visit left out, with the reason in a code and in words."""

    visit_id: str
    reason: Reason
    text: str


@dataclass(frozen=True)
class Plan:
    """The answer: a route per rep, every unassigned visit with its reason, and notes."""

    routes: tuple[RepRoute, ...]
    unassigned: tuple[Unassigned, ...]
    objective: int
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def route(self, rep_id: str) -> RepRoute:
        return next(r for r in self.routes if r.rep_id == rep_id)

    @property
    def served(self) -> set[str]:
        return {s.visit_id for r in self.routes for s in r.stops}
