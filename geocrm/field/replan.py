"""Re-plan the rest of today from the phone (issue 15, item 6).

Today's "Re-plan from here" sends the phone's position in the request body (never the URL)
as the outbox write ``replan``: online it is applied at once through the exactly-once path
(:mod:`geocrm.api.replan`), offline it waits in the outbox and is applied when the phone
syncs, from the position the rep was at when they asked and the time it is applied (a day
cannot be planned in the past). The work is :func:`geocrm.planning.replan.replan_day`; what
changed is kept as notes — codes with parameters (:mod:`geocrm.planning.notes`), never
English sentences — in the plan's ``params["last_replan"]`` and in the write's stored
result, and put into the reader's language only when shown (:func:`last_replan`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from geocrm.clock import local_zone
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.field.values import int_field, number_field, time_field
from geocrm.models import PlanStatus, RoutePlan, User, utcnow
from geocrm.planning.base import local_now
from geocrm.planning.notes import render
from geocrm.planning.replan import replan_day
from geocrm.planning.scope import can_replan


def _today() -> date:
    return local_now(local_zone()).date()


def todays_plan(user: User) -> RoutePlan | None:
    """The user's published plan for today, if any."""
    return db.session.scalars(
        select(RoutePlan).where(RoutePlan.rep_id == user.id, RoutePlan.plan_date == _today(),
                                RoutePlan.status == PlanStatus.PUBLISHED)
        .order_by(RoutePlan.published_at.desc(), RoutePlan.id.desc())).first()


def replan_from_phone(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox write ``replan``: ``{"plan_id", "lat", "lon", "accuracy_m"?, "asked_at"?}``.

    Only the rep's own published plan of today (a planner re-plans from the web page).
    Returns ``{"plan_id", "summary": [notes]}`` — codes, so the stored answer reads in
    whatever language the rep uses when it is shown (flushes)."""
    plan_id = int_field(data, "plan_id", required=True)
    lat = number_field(data, "lat", -90.0, 90.0, required=True)
    lon = number_field(data, "lon", -180.0, 180.0, required=True)
    number_field(data, "accuracy_m", 0.0, 100_000.0)
    asked = time_field(data, "asked_at")
    plan = db.session.get(RoutePlan, plan_id)
    if plan is None or plan.rep_id != user.id or not can_replan(plan, user):
        raise NotFoundError(_("No published plan %(id)s of yours.", id=plan_id))
    if plan.plan_date != _today():
        raise ValidationError("plan_id", _(
            "is not today's plan: only today can be re-planned from where you are"))
    assert lat is not None and lon is not None
    summary = replan_day(plan, position=(lat, lon), at_s=None)
    plan.params = {**(plan.params or {}), "last_replan": {
        "asked_at": asked.isoformat() + "Z", "applied_at": utcnow().isoformat() + "Z",
        "summary": summary}}
    db.session.flush()
    return {"plan_id": plan.id, "summary": summary}


def words(summary: list[Any]) -> list[str]:
    """A re-plan's notes in the reader's language."""
    return [render(n) for n in summary]


def last_replan(user: User) -> dict[str, Any]:
    """Today's latest re-plan in words: ``{"plan_id", "asked_at", "applied_at", "lines"}``
    (``lines`` empty when today has not been re-planned)."""
    plan = todays_plan(user)
    last = ((plan.params or {}).get("last_replan") if plan is not None else None) or {}
    return {"plan_id": plan.id if plan is not None else None,
            "asked_at": last.get("asked_at"), "applied_at": last.get("applied_at"),
            "lines": words(list(last.get("summary") or []))}
