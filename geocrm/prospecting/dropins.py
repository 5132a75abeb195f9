"""Drop-ins (ついで訪問): what fits into the slack of a rep's day, checked by the routing model.

For the rep's published plan of today, from where they are and now: the accounts they may
see that are overdue for a visit (``cadence_days`` passed since ``last_visit_at``) and the
look-alike places near the rest of the route (:func:`geocrm.prospecting.services.look_alikes`
inside a 1.5 km band around it). Each is tried at every place of the remaining order with
:func:`routing.check_order` — the planning model's own rules: opening windows of that day,
the lunch break, the shift end, the most visits a day — and kept only where it breaks
nothing the day did not already break. The cheapest place wins (least extra time, drive and
visit); suggestions are ranked by value (an overdue account: its priority and how overdue;
a place: its look-alike score), then by the time they add.

Adding one inserts it there: an account as a stop, a place first as a prospect (the bulk rule
of :func:`~geocrm.prospecting.adding.add_places`: owner, territory, nothing doubled) and
then as a stop; the day is retimed (:func:`geocrm.planning.edits.retime`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.affinity
from flask_babel import gettext as _

import routing
from geocrm.access import visible_accounts
from geocrm.clock import local_zone
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.field.replan import todays_plan
from geocrm.models import Account, RoutePlan, RouteStop, User, utcnow
from geocrm.planning.base import local_now
from geocrm.planning.edits import retime
from geocrm.planning.hours import windows_on
from geocrm.planning.problem import account_visit, routing_rep, skill_set, without_skills
from geocrm.planning.replan import replan_origin
from geocrm.planning.scope import can_replan
from geocrm.prospecting.adding import add_places
from geocrm.prospecting.services import loaded_index, look_alikes, place_raw
from geocrm.region.travel import travel_provider

BAND_M = 1500.0
MAX_CANDIDATES = 25
DAY_S = 24 * 3600


@dataclass(frozen=True)
class DropIn:
    """A suggestion: what, where in the order (before the n-th remaining stop), what it adds."""

    kind: str  # "account" / "place"
    key: str  # account id as text, or "node/123"
    name: str
    lat: float
    lon: float
    position: int  # 0 = before the first remaining stop
    extra_s: int  # how much later the day ends (drive and visit)
    arrival_s: int  # when the rep gets there
    value: float
    why: str  # "overdue" / "look_alike"


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    kx = 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon1 - lon2) * kx, (lat1 - lat2) * 110_540.0)


def _near_route(points: Sequence[tuple[float, float]], lat: float, lon: float) -> float:
    return min(_metres(lat, lon, p[0], p[1]) for p in points)


def _violations(check: routing.OrderCheck) -> set[tuple[str, str | None]]:
    return {(str(v.kind), v.visit_id) for v in check.violations}


@dataclass
class _Today:
    plan: RoutePlan
    rep: routing.Rep
    at_s: int
    origin: routing.Location
    visits: list[routing.Visit]
    base: routing.OrderCheck
    route: list[tuple[float, float]]  # lat, lon of origin and remaining stops


def _today(user: User, position: tuple[float, float] | None, at_s: int | None) -> _Today:
    plan = todays_plan(user)
    if plan is None:
        raise NotFoundError("No published plan of yours today.")
    return _day(plan, position, at_s)


def _day(plan: RoutePlan, position: tuple[float, float] | None, at_s: int | None) -> _Today:
    """The rest of ``plan``'s day from ``at_s``: by default now when the plan is today's, its
    shift start when it lies ahead (a planner filling tomorrow's slack), and nothing left when
    it is past (no drop-in fits a day that is over)."""
    speed = float((plan.params or {}).get("speed_kmh") or 30.0)
    rep = without_skills(routing_rep(plan.rep), speed)
    now = local_now(local_zone())
    if at_s is not None:
        at = at_s
    elif plan.plan_date == now.date():
        at = now.hour * 3600 + now.minute * 60
    elif plan.plan_date > now.date():
        at = rep.shift.start
    else:
        at = DAY_S
    origin_pos = replan_origin(plan, position)
    origin = routing.Location(origin_pos.lat, origin_pos.lon)
    visits = []
    route = [(origin.lat, origin.lon)]
    for stop in sorted(plan.stops, key=lambda s: s.seq):
        if stop.status != "planned" or stop.account.lat is None:
            continue
        hours = windows_on(stop.account.opening_hours, plan.plan_date)
        visits.append(account_visit(stop.account, [(0, DAY_S)] if hours is None else hours))
        route.append((float(stop.account.lat), float(stop.account.lon)))
    base = routing.check_order(rep, visits, start_at=at, origin=origin,
                               provider=travel_provider())
    return _Today(plan, rep, at, origin, visits, base, route)


def _best_insertion(day: _Today, visit: routing.Visit) -> tuple[int, routing.OrderCheck] | None:
    allowed = _violations(day.base)
    best: tuple[int, routing.OrderCheck] | None = None
    provider = travel_provider()
    for pos in range(len(day.visits) + 1):
        order = [*day.visits[:pos], visit, *day.visits[pos:]]
        check = routing.check_order(day.rep, order, start_at=day.at_s, origin=day.origin,
                                    provider=provider)
        # never a new broken rule, and never a day that ends past the shift (even one that
        # already did: a drop-in fills slack, it does not make overtime longer)
        if _violations(check) - allowed or check.end > day.rep.shift.end:
            continue
        if best is None or check.end < best[1].end:
            best = (pos, check)
    return best


def _overdue(user: User, day: _Today) -> list[tuple[Account, float]]:
    planned = {s.account_id for s in day.plan.stops}
    can = skill_set(day.plan.rep.skills)  # the planner's rule: only a rep with every skill
    now = utcnow()
    out = []
    for a in db.session.scalars(visible_accounts(user).where(
            Account.archived.is_(False), Account.lat.is_not(None),
            Account.cadence_days.is_not(None), Account.missing_since.is_(None))):
        if a.id in planned or not skill_set(a.required_skills) <= can:
            continue
        since = (now - a.last_visit_at).days if a.last_visit_at else 10 * a.cadence_days
        if since < a.cadence_days:
            continue
        if _near_route(day.route, float(a.lat), float(a.lon)) > BAND_M:
            continue
        value = (6 - int(a.priority or 3)) + min(since / a.cadence_days, 3.0)
        out.append((a, value))
    out.sort(key=lambda p: -p[1])
    return out[:MAX_CANDIDATES]


def _places(user: User, day: _Today) -> list[tuple[int, float]]:
    # the band in a local metric frame (a degree of longitude is shorter than one of latitude)
    k = math.cos(math.radians(day.route[0][0]))
    band = shapely.affinity.scale(
        shapely.MultiPoint([(lon * k, lat) for lat, lon in day.route]).buffer(
            BAND_M / 110_540.0), xfact=1 / k, yfact=1.0, origin=(0, 0))
    try:
        found = look_alikes(user, {"area": {"polygon": shapely.geometry.mapping(band)},
                                   "limit": MAX_CANDIDATES})
    except ValidationError:  # no region with places loaded: accounts only
        return []
    return [(c.i, 1.0 + 2.0 * c.ranked.score) for c in found.candidates
            if _near_route(day.route, float(c.row["lat"]), float(c.row["lon"])) <= BAND_M]


def suggest(user: User, *, position: tuple[float, float] | None = None,
            at_s: int | None = None, limit: int = 8) -> list[DropIn]:
    """Drop-ins that fit today's plan of ``user`` from ``position`` at ``at_s`` (see above)."""
    return _suggest(user, _today(user, position, at_s), limit)


def suggest_for_plan(user: User, plan: RoutePlan, *, at_s: int | None = None,
                     limit: int = 8) -> list[DropIn]:
    """Drop-ins for any published plan ``user`` may re-plan (the planner's page): the same
    candidates and checks as the rep's Today, among the accounts and places ``user`` sees."""
    _may_edit(user, plan)
    return _suggest(user, _day(plan, None, at_s), limit)


def _may_edit(user: User, plan: RoutePlan) -> None:
    # the re-plan rule: published plans, the rep themselves or a planner who can open it
    # (the caller has already opened it through the plan scope, or this is the rep's own)
    if not can_replan(plan, user):
        raise NotFoundError(f"No plan {plan.id}.")


def _suggest(user: User, day: _Today, limit: int) -> list[DropIn]:
    out: list[DropIn] = []
    for a, value in _overdue(user, day):
        hours = windows_on(a.opening_hours, day.plan.plan_date)
        if hours == []:
            continue
        fit = _best_insertion(day, account_visit(a, [(0, DAY_S)] if hours is None else hours))
        if fit is not None:
            out.append(_dropin("account", str(a.id), a.name, float(a.lat), float(a.lon), fit,
                               day, value, "overdue"))
    places = _places(user, day)
    if places:
        index = loaded_index()
        for i, value in places:
            raw = place_raw(index, i)
            hours = windows_on(raw.get("opening_hours"), day.plan.plan_date)
            if hours == []:
                continue
            visit = routing.Visit(
                id=f"p{i}", location=routing.Location(float(index.lat[i]), float(index.lon[i])),
                duration=30 * 60, windows=tuple(routing.TimeWindow(s, e) for s, e in
                                                (hours or [(0, DAY_S)])))
            fit = _best_insertion(day, visit)
            if fit is not None:
                out.append(_dropin("place", index.ref(i), raw["name"], float(index.lat[i]),
                                   float(index.lon[i]), fit, day, value, "look_alike"))
    out.sort(key=lambda d: (-d.value, d.extra_s, d.key))
    return out[:limit]


def _dropin(kind: str, key: str, name: str, lat: float, lon: float,
            fit: tuple[int, routing.OrderCheck], day: _Today, value: float,
            why: str) -> DropIn:
    pos, check = fit
    return DropIn(kind, key, name, lat, lon, pos, max(0, check.end - day.base.end),
                  check.stops[pos].arrival, round(value, 3), why)


def add_dropin(user: User, kind: Any, key: Any, *, position: tuple[float, float] | None = None,
               at_s: int | None = None) -> RouteStop:
    """Insert a suggestion into today's route where it fits best (flushes; the view commits).

    Checked again now: a drop-in that no longer fits is refused with the reason."""
    return _add(user, _today(user, position, at_s), kind, key)


def add_dropin_to_plan(user: User, plan: RoutePlan, kind: Any, key: Any, *,
                       at_s: int | None = None) -> RouteStop:
    """:func:`add_dropin` for a plan ``user`` may re-plan (the planner's page; flushes)."""
    _may_edit(user, plan)
    return _add(user, _day(plan, None, at_s), kind, key)


def _add(user: User, day: _Today, kind: Any, key: Any) -> RouteStop:
    if kind not in ("account", "place") or not isinstance(key, str) or not key:
        raise ValidationError("dropin", _("must be a suggested account or place"))
    if kind == "place":
        # the prospect belongs to the rep whose day it joins (the planner is not a rep)
        added = add_places(user, [key], None if user.id == day.plan.rep_id else day.plan.rep_id)
        if not added.account_ids:
            raise ValidationError("dropin", _("this place is already in the CRM"))
        account_id = added.account_ids[0]
    else:
        if not key.isdigit():
            raise ValidationError("dropin", _("must be a suggested account or place"))
        account_id = int(key)
    account = db.session.scalars(visible_accounts(user).where(
        Account.id == account_id)).one_or_none()
    if account is None or account.lat is None:
        raise NotFoundError(f"No account {account_id}.")
    if any(s.account_id == account.id for s in day.plan.stops):
        raise ValidationError("dropin", _("already on today's route"))
    hours = windows_on(account.opening_hours, day.plan.plan_date)
    fit = _best_insertion(day, account_visit(account, [(0, DAY_S)] if hours is None
                                             else hours))
    if fit is None or hours == []:
        raise ValidationError("dropin", _("no longer fits into today's route"))
    remaining = [s for s in sorted(day.plan.stops, key=lambda s: s.seq)
                 if s.status == "planned" and s.account.lat is not None]
    before = remaining[fit[0]] if fit[0] < len(remaining) else None
    stops = sorted(day.plan.stops, key=lambda s: s.seq)
    new = RouteStop(account_id=account.id, seq=0, pinned=False, status="planned")
    new.account = account
    stops.insert(stops.index(before) if before is not None else len(stops), new)
    for n, s in enumerate(stops, start=1):
        s.seq = n
    day.plan.stops.append(new)
    retime(day.plan)
    db.session.flush()
    return new
