"""The manager's day: each rep's published plan for a day against what is done.

A planned stop is **visited** when the rep checked in there (the check-in names the stop, or
failing that it is the first of the day's visits at that account), **late** when that
check-in came more than ``GEOCRM_LATE_MINUTES`` (default 15) after the planned start,
**missed** when its planned visit ended more than that long ago with no visit, **skipped**
when the rep skipped it, else still **planned**. A visit no stop accounts for is
**unplanned**. Visits count as they sync from the phones; the page asks again every minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from geocrm.access import scope_territories
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.models import (
    Interaction,
    PlanStatus,
    RoutePlan,
    RouteStop,
    Territory,
    User,
    territory_reps,
)
from geocrm.teamday.visits import arrived_at, day_visits, team_reps

VISITED, LATE, MISSED, PLANNED, SKIPPED = "visited", "late", "missed", "planned", "skipped"
DONE = (VISITED, LATE)


def late_after() -> timedelta:
    """How late a check-in may be before it counts as late (``GEOCRM_LATE_MINUTES``)."""
    return timedelta(minutes=int(current_app.config.get("GEOCRM_LATE_MINUTES", 15)))


@dataclass
class StopState:
    """A planned stop and what became of it."""

    stop: RouteStop
    status: str
    visit: Interaction | None = None
    late_s: int = 0

    @property
    def planned_start(self) -> datetime | None:
        return self.stop.start or self.stop.arrival

    @property
    def planned_end(self) -> datetime | None:
        return self.stop.departure or self.planned_start


@dataclass
class RepDay:
    """One rep's day: the plan (if one is published), its stops' states, unplanned visits."""

    rep: User
    plan: RoutePlan | None
    stops: list[StopState] = field(default_factory=list)
    unplanned: list[Interaction] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for s in self.stops if s.status in statuses)

    @property
    def visits(self) -> list[Interaction]:
        """Every visit of the day, planned or not, in check-in order."""
        done = [s.visit for s in self.stops if s.visit is not None] + self.unplanned
        return sorted(done, key=lambda i: (arrived_at(i), i.id))

    @property
    def last_visit(self) -> Interaction | None:
        visits = self.visits
        return visits[-1] if visits else None

    @property
    def on_site(self) -> Interaction | None:
        """The visit the rep is at now: checked in, not yet out."""
        last = self.last_visit
        return last if last is not None and last.checkin_at and not last.checkout_at else None

    @property
    def next_stop(self) -> StopState | None:
        return next((s for s in self.stops if s.status == PLANNED), None)


def published_plans(rep_ids: list[int], day: date) -> dict[int, RoutePlan]:
    """Each rep's published plan for ``day`` (the latest published, as the phone shows it)."""
    if not rep_ids:
        return {}
    rows = db.session.scalars(
        select(RoutePlan)
        .options(selectinload(RoutePlan.stops).selectinload(RouteStop.account))
        .where(RoutePlan.rep_id.in_(rep_ids), RoutePlan.plan_date == day,
               RoutePlan.status == PlanStatus.PUBLISHED)
        .order_by(RoutePlan.published_at, RoutePlan.id)
    )
    return {plan.rep_id: plan for plan in rows}  # the last one wins


def compare(rep: User, plan: RoutePlan | None, visits: list[Interaction],
            now: datetime) -> RepDay:
    """Match the day's visits to the plan's stops and give each stop its state (``now`` is
    naive UTC, like the stored times)."""
    out = RepDay(rep, plan)
    stops = sorted(plan.stops, key=lambda s: s.seq) if plan is not None else []
    left = list(visits)
    matched: dict[int, Interaction] = {}
    by_stop = {s.id for s in stops}
    for item in list(left):
        if item.route_stop_id in by_stop and item.route_stop_id not in matched:
            matched[item.route_stop_id] = item
            left.remove(item)
    for stop in stops:
        if stop.id in matched:
            continue
        found = next((i for i in left if i.account_id == stop.account_id), None)
        if found is not None:
            matched[stop.id] = found
            left.remove(found)
    grace = late_after()
    for stop in stops:
        state = StopState(stop, PLANNED, matched.get(stop.id))
        if state.visit is not None:
            start = state.planned_start
            lateness = (arrived_at(state.visit) - start).total_seconds() if start else 0
            state.status = LATE if lateness > grace.total_seconds() else VISITED
            state.late_s = max(0, int(lateness))
        elif stop.status == SKIPPED:
            state.status = SKIPPED
        elif stop.status == VISITED:  # marked visited without a synced visit (yet)
            state.status = VISITED
        elif state.planned_end is not None and now > state.planned_end + grace:
            state.status = MISSED
        out.stops.append(state)
    out.unplanned = left
    return out


def day_territories(user: User) -> list[Territory]:
    """The territories ``user`` may filter the day by: a manager's own, every one for
    planners and admins."""
    return list(db.session.scalars(scope_territories(select(Territory), user)
                                   .order_by(Territory.name, Territory.id)))


def narrow(reps: list[User], user: User, territory_id: int | None,
           rep_id: int | None) -> list[User]:
    """``reps`` cut to those who work ``territory_id`` and to ``rep_id``; a territory or a
    rep ``user`` may not see is a 404, like one that does not exist."""
    if territory_id is not None:
        visible = scope_territories(select(Territory.id).where(Territory.id == territory_id),
                                    user)
        if db.session.scalar(visible) is None:
            raise NotFoundError(f"No territory {territory_id}.")
        working = set(db.session.scalars(select(territory_reps.c.user_id)
                                         .where(territory_reps.c.territory_id == territory_id)))
        reps = [r for r in reps if r.id in working]
    if rep_id is not None:
        if rep_id not in {r.id for r in team_reps(user)}:
            raise NotFoundError(f"No rep {rep_id}.")
        reps = [r for r in reps if r.id == rep_id]
    return reps


def team_day(user: User, day: date, now: datetime, *, territory_id: int | None = None,
             rep_id: int | None = None) -> list[RepDay]:
    """Every rep ``user`` may follow (:func:`geocrm.teamday.visits.team_reps`) on ``day``,
    or only those of one territory, or one rep (:func:`narrow`): those with a published
    plan or a visit first, then the others, by name."""
    reps = narrow(team_reps(user), user, territory_id, rep_id)
    ids = [r.id for r in reps]
    plans = published_plans(ids, day)
    visits = day_visits(ids, day)
    days = [compare(rep, plans.get(rep.id), visits.get(rep.id, []), now) for rep in reps]
    return sorted(days, key=lambda d: (d.plan is None and not d.unplanned, d.rep.name, d.rep.id))
