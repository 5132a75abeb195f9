"""Business distance from the visit sequence: home → each visit in check-in order → home.

No background tracking: the phone reports where it was at each check-in and nothing in
between, so the distance driven is the travel provider's (:func:`geocrm.region.travel.
travel_provider`: the region's roads, an OSRM or Valhalla server, or a straight-line estimate
that says so) between consecutive places of the day. One matrix per rep and period, however
many days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app

import routing
from geocrm.models import Interaction, User
from geocrm.region.travel import travel_notes, travel_provider
from geocrm.teamday.visits import period_visits

#: The speed only matters for a straight-line estimate's times, never for its metres.
SPEED_KMH = 30.0


@dataclass(frozen=True)
class Leg:
    """One drive: ``start``/``end`` name an account, ``None`` is the rep's home base."""

    start: str | None
    end: str | None
    metres: int


@dataclass
class DayDistance:
    """A rep's business distance on one day and how it was measured."""

    day: date
    legs: list[Leg] = field(default_factory=list)
    visits: int = 0
    #: visits with no place to measure from (no pin and no usable fix): not in the distance
    unplaced: int = 0
    #: whether the day starts and ends at the rep's home base (else first to last visit)
    from_home: bool = True
    #: the travel provider's notes (a straight-line estimate, an unreachable road service)
    notes: list[str] = field(default_factory=list)

    @property
    def metres(self) -> int:
        return sum(leg.metres for leg in self.legs)

    @property
    def estimate(self) -> bool:
        """A great-circle estimate rather than roads: straight-line travel, or a road service
        that did not answer (the report says which)."""
        return any(n.startswith(("straight-line estimate", "road service ")) for n in self.notes)

    @property
    def straight(self) -> bool:
        """Straight-line travel is what is configured (no roads at all)."""
        return any(n.startswith("straight-line estimate") for n in self.notes)


def visit_place(item: Interaction, good_fix_m: float) -> tuple[float, float] | None:
    """Where a visit happened: the check-in fix when it is precise enough to trust (the
    rep was there, even off the pin), else the account's pin, else nowhere."""
    if item.checkin_lat is not None and item.checkin_lon is not None and (
            item.checkin_accuracy_m is None or item.checkin_accuracy_m <= good_fix_m):
        return (item.checkin_lat, item.checkin_lon)
    account = item.account
    if account is not None and account.lat is not None and account.lon is not None:
        return (account.lat, account.lon)
    return None


def rep_distances(rep: User, days: dict[date, list[Interaction]]) -> dict[date, DayDistance]:
    """Each day's distance for ``rep`` (visits already in check-in order), with one travel
    matrix over every place of every day."""
    good = float(current_app.config.get("GEOCRM_CHECKIN_MAX_ACCURACY_M", 100))
    home = (rep.home_lat, rep.home_lon) if rep.home_lat is not None and \
        rep.home_lon is not None else None
    index: dict[tuple[float, float], int] = {}

    def at(point: tuple[float, float]) -> int:
        key = (round(point[0], 6), round(point[1], 6))
        return index.setdefault(key, len(index))

    plans: dict[date, tuple[DayDistance, list[tuple[int, str | None]]]] = {}
    for day, visits in sorted(days.items()):
        out = DayDistance(day, visits=len(visits), from_home=home is not None)
        stops: list[tuple[int, str | None]] = []
        for item in visits:
            place = visit_place(item, good)
            if place is None:
                out.unplaced += 1
                continue
            stops.append((at(place), item.account.name if item.account else None))
        if stops and home is not None:
            stops = [(at(home), None), *stops, (at(home), None)]
        plans[day] = (out, stops)
    if len(index) >= 2:
        locations = [routing.Location(lat, lon) for lat, lon in index]
        mats = travel_provider().matrices(locations, SPEED_KMH)
        metres, notes = mats.distance_m, travel_notes(mats.warnings)
    else:
        metres, notes = None, []
    for out, stops in plans.values():
        for (a, name_a), (b, name_b) in zip(stops, stops[1:], strict=False):
            out.legs.append(Leg(name_a, name_b, int(metres[a][b]) if metres is not None else 0))
        if out.legs:
            out.notes = list(notes)
    return {day: out for day, (out, _) in plans.items()}


def totals(days: Sequence[DayDistance]) -> tuple[int, int]:
    """(metres, visits) over ``days``."""
    return sum(d.metres for d in days), sum(d.visits for d in days)


@dataclass
class RepMileage:
    """One rep's business distance over a period, day by day (days with visits only)."""

    rep: User
    days: list[DayDistance]

    @property
    def metres(self) -> int:
        return sum(d.metres for d in self.days)

    @property
    def visits(self) -> int:
        return sum(d.visits for d in self.days)

    @property
    def estimate(self) -> bool:
        return any(d.estimate for d in self.days)


def period_mileage(reps: Sequence[User], first: date, last: date) -> list[RepMileage]:
    """Each rep's days from ``first`` to ``last`` (inclusive) that had visits."""
    visits = period_visits([r.id for r in reps], first, last)
    out = []
    for rep in reps:
        days = rep_distances(rep, visits.get(rep.id, {}))
        out.append(RepMileage(rep, [days[d] for d in sorted(days)]))
    return out


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last day of ``month``'s calendar month."""
    first = month.replace(day=1)
    following = (first.replace(year=first.year + 1, month=1) if first.month == 12
                 else first.replace(month=first.month + 1))
    return first, following - timedelta(days=1)
