"""One day as a ``routing.Problem``: reps from their home base (or from here and now, when
the day has begun), visits from the accounts' opening hours, visit length and priority."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

import routing
from geocrm.clock import local_day_bounds_utc
from geocrm.core.skills import rep_speed_kmh, skill_keys
from geocrm.extensions import db
from geocrm.models import Account, Interaction, User
from geocrm.planning.base import (
    CLOSED,
    DAY,
    LUNCH_SLACK_S,
    NO_REP_WORKING,
    NOT_COVERED,
    hhmm,
    rep_key,
    visit_key,
)
from geocrm.planning.hours import windows_on
from geocrm.planning.notes import Note, note, render
from geocrm.planning.scope import rep_territory_ids

DAY_OVER = "day_over"
DAY_OVER_TEXT = "the chosen reps' working day is already over"
SKILLS_NEEDED = "skills_needed"


def works_on(rep: User, day: date) -> bool:
    """Whether ``day`` is one of the rep's working days (ISO weekdays, "1,2,3,4,5")."""
    days = {int(d) for d in (rep.work_days or "").split(",") if d.strip().isdigit()}
    return day.isoweekday() in days


def skill_set(text: str | None) -> frozenset[str]:
    """Free skill tags as ``routing`` skills ("skill:forklift"), apart from the territory
    skills ("territory:3") so a tag can never pass for a territory."""
    return frozenset(f"skill:{k}" for k in skill_keys(text))


def routing_rep(rep: User, territory_ids: Iterable[int] = ()) -> routing.Rep:
    """A rep as ``routing`` sees them: home base, working day, lunch, limits, territories,
    skills and the speed of their vehicle."""
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
        skills=frozenset(f"territory:{t}" for t in territory_ids) | skill_set(rep.skills),
        speed_kmh=rep_speed_kmh(rep.vehicle, rep.speed_kmh),
    )


def account_visit(a: Account, hours: Sequence[tuple[int, int]], **kw: object) -> routing.Visit:
    """An account as a ``routing`` visit: where, how long, when open, how much it matters."""
    return routing.Visit(
        id=visit_key(a.id),
        location=routing.Location(float(a.lat), float(a.lon)),
        duration=max(0, int(a.visit_minutes or 0)) * 60,
        windows=tuple(routing.TimeWindow(s, e) for s, e in hours),
        priority=min(5, max(1, int(a.priority or 3))),
        **kw,  # type: ignore[arg-type]
    )


# -- where and when a day starts ------------------------------------------------------------------
@dataclass(frozen=True)
class Position:
    """Where a rep is, and how we know it (for the words: "from home", "from Kahvila Sävy")."""

    lat: float
    lon: float
    source: str  # home / checkin / visit / phone
    label: str

    @property
    def location(self) -> routing.Location:
        return routing.Location(self.lat, self.lon)

    def note(self) -> Note:
        """Where the day starts, as a note ("from home", "from your check-in at X")."""
        if self.source in ("home", "phone"):
            return note(f"from_{self.source}")
        if self.source == "checkin":
            return note("from_checkin", name=self.label)
        return note("from_place", name=self.label)

    def words(self) -> str:
        """:meth:`note` in the reader's language."""
        return render(self.note())


@dataclass(frozen=True)
class RepStart:
    """A day that starts later than the shift: at ``at_s`` (seconds after midnight), from
    ``position``, because it is planned after the shift began."""

    at_s: int
    position: Position

    def note(self, rep: User) -> Note:
        return note("planned_late", time=hhmm(self.at_s), rep=rep.name,
                    start=hhmm(rep.work_start_min * 60), origin=self.position.note())


def home_position(rep: User) -> Position:
    return Position(float(rep.home_lat), float(rep.home_lon), "home", "home")


def last_known_position(rep: User, day: date) -> Position | None:
    """The rep's latest check-in or check-out position on ``day`` (local), if any."""
    lo, hi = local_day_bounds_utc(day)
    when = func.coalesce(Interaction.checkout_at, Interaction.checkin_at)
    row = db.session.execute(
        select(Interaction.checkout_lat, Interaction.checkout_lon, Interaction.checkin_lat,
               Interaction.checkin_lon, Account.name)
        .join(Account, Account.id == Interaction.account_id)
        .where(Interaction.user_id == rep.id, when >= lo, when < hi,
               Interaction.checkin_lat.is_not(None) | Interaction.checkout_lat.is_not(None))
        .order_by(when.desc(), Interaction.id.desc()).limit(1)).first()
    if row is None:
        return None
    lat, lon = (row[0], row[1]) if row[0] is not None else (row[2], row[3])
    return Position(float(lat), float(lon), "checkin", str(row[4]))


def starts_now(day: date, reps: Sequence[User], now: datetime) -> dict[int, RepStart]:
    """Reps whose working day on ``day`` has already begun at ``now`` (aware, local): each
    starts at the next whole minute, from their last known position today or home."""
    local = now.astimezone(now.tzinfo or UTC)
    if local.date() != day:
        return {}
    at_s = local.hour * 3600 + local.minute * 60 + (60 if local.second or local.microsecond
                                                     else 0)
    return {
        r.id: RepStart(at_s, last_known_position(r, day) or home_position(r))
        for r in reps if at_s > r.work_start_min * 60
    }


# -- the day's problem ----------------------------------------------------------------------------
@dataclass
class DayProblem:
    """One day's Problem plus what the app already knows about visits left out."""

    day: date
    problem: routing.Problem | None
    accounts: dict[str, Account]
    left_out: list[tuple[Account, str, Any]] = field(default_factory=list)  # text or a note
    notes: list[Any] = field(default_factory=list)
    starts: dict[int, RepStart] = field(default_factory=dict)


def _day_reps(day: date, reps: Sequence[User], territories: Mapping[int, set[int]],
              starts: Mapping[int, RepStart], out: DayProblem) -> list[routing.Rep]:
    """The reps working ``day`` as routing reps; those whose day has begun start here and
    now (lunch kept while it may still start), those whose day is over are noted and left
    out."""
    working = []
    for r in reps:
        if not works_on(r, day):
            continue
        rep = routing_rep(r, territories[r.id])
        start = starts.get(r.id)
        if start is not None:
            if start.at_s >= rep.shift.end:
                out.notes.append(note("day_ended", rep=r.name, time=hhmm(rep.shift.end)))
                continue
            rep = routing.rest_of_day(rep, now=start.at_s, position=start.position.location)
            out.starts[r.id] = start
            out.notes.append(start.note(r))
        working.append(rep)
    return working


def build_day_problem(
    day: date,
    reps: Sequence[User],
    accounts: Sequence[Account],
    pins: Mapping[int, tuple[int, date]],
    starts: Mapping[int, RepStart] | None = None,
) -> DayProblem:
    """The ``routing.Problem`` for ``day``.

    Each visit may go only to a rep who can see the account on their phone: one working its
    territory (a territory "skill"), or its owner; and only to one with every skill the
    account requires (left out, saying which, when no working rep has them). A pinned
    account goes to its pinned rep on its pinned day, as a must-visit, and is not offered on
    other days. ``starts`` gives the
    reps whose day has already begun a later start (see :func:`starts_now`).
    """
    out = DayProblem(day, None, {})
    territories_by_rep = rep_territory_ids(r.id for r in reps)
    working = _day_reps(day, reps, territories_by_rep, starts or {}, out)
    any_works = any(works_on(r, day) for r in reps)
    covered = set().union(*territories_by_rep.values()) if reps else set()
    visits: list[routing.Visit] = []
    for a in accounts:
        pin = pins.get(a.id)
        if pin is not None and pin[1] != day:
            continue
        if not working:
            code = DAY_OVER if any_works else NO_REP_WORKING
            out.left_out.append((a, code, note(code)))
            continue
        hours = windows_on(a.opening_hours, day)
        if hours is None:
            if a.opening_hours:
                out.notes.append(note("hours_not_understood", name=a.name,
                                      hours=repr(a.opening_hours)))
            hours = [(0, DAY)]
        if not hours:
            out.left_out.append((a, CLOSED, note("closed_on", day=day.isoformat(),
                                                 hours=a.opening_hours)))
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
            out.left_out.append((a, NOT_COVERED, note(NOT_COVERED)))
            continue
        needed = skill_set(a.required_skills)
        skills |= needed
        if needed and not any(needed <= r.skills and pinned_rep in (None, r.id)
                              for r in working):
            out.left_out.append((a, SKILLS_NEEDED, note(SKILLS_NEEDED,
                                                        skills=a.required_skills)))
            continue
        out.accounts[visit_key(a.id)] = a
        visits.append(account_visit(a, hours, must_visit=pin is not None,
                                    pinned_rep=pinned_rep, skills=skills))
    if working:
        out.problem = routing.Problem(tuple(working), tuple(visits))
    return out


def solve_params() -> tuple[float, routing.SolveParams]:
    """Time limit and search settings from the app config (tests pin a solution limit)."""
    limit = float(current_app.config.get("GEOCRM_PLAN_TIME_LIMIT", 5.0))
    solutions = current_app.config.get("GEOCRM_PLAN_SOLUTION_LIMIT")
    return limit, routing.SolveParams(solution_limit=int(solutions) if solutions else None)


def without_skills(rep: routing.Rep, speed_kmh: float) -> routing.Rep:
    """A rep for a one-rep re-plan: the stops are theirs already, so no territory skills."""
    return dataclasses.replace(rep, skills=frozenset(), speed_kmh=speed_kmh)
