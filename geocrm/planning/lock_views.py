"""Planner endpoints for locks and checked manual moves (issue 15, item 5).

Its own blueprint under ``/planning`` (registered by ``create_app``, like every feature's
views). Thin: scope through ``geocrm.planning.scope``, rules in ``geocrm.planning.locks``.
``check`` changes nothing and answers JSON at once (the page calls it while a stop is
dragged or the move form is filled in); ``place`` applies the move and shows what it breaks.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.planning import locks
from geocrm.planning.base import PLANNER_ROLES
from geocrm.planning.scope import get_plan_or_404, get_run_or_404, get_stop_for_edit

bp = Blueprint("planning_locks", __name__, url_prefix="/planning")


def _wants_lock() -> bool:
    return (request.form.get("locked") or "").strip() in ("1", "true", "on", "yes")


def _move_fields() -> tuple[int, str]:
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    try:
        rep_id = int(str(data.get("rep_id", "")))
    except ValueError:
        raise ValidationError("rep_id", _("choose a rep")) from None
    return rep_id, str(data.get("position", "")).strip()


@bp.route("/stops/<int:stop_id>/lock", methods=["POST"])
@roles_required(*PLANNER_ROLES)
@commits
def lock_stop(stop_id: int) -> Any:
    """Lock (or unlock) a stop at its place in the route for the next re-run."""
    stop = get_stop_for_edit(stop_id, current_user)
    locks.lock_stop(stop, _wants_lock())
    return redirect(url_for("planning.run", run_id=stop.plan.run_id,
                            _anchor=f"plan-{stop.plan_id}"))


@bp.route("/plans/<int:plan_id>/lock", methods=["POST"])
@roles_required(*PLANNER_ROLES)
@commits
def lock_route(plan_id: int) -> Any:
    """Lock (or unlock) a rep's whole route for the next re-run."""
    plan = get_plan_or_404(plan_id, current_user)
    if plan.run_id is None:
        raise ValidationError("plan", _("only a plan of a planning run can be locked"))
    get_run_or_404(plan.run_id, current_user)
    locks.lock_route(plan, _wants_lock())
    return redirect(url_for("planning.run", run_id=plan.run_id, _anchor=f"plan-{plan.id}"))


def _answer(check: locks.MoveCheck) -> dict[str, Any]:
    return {"plan_id": check.plan.id, "rep_id": check.plan.rep_id,
            "position": check.position, "ok": not check.violations,
            "violations": [{**v, "text": locks.violation_words(v)} for v in check.violations]}


@bp.route("/stops/<int:stop_id>/check", methods=["POST"])
@roles_required(*PLANNER_ROLES)
@commits  # writes nothing; every POST owns its transaction all the same (rolled back if so)
def check_move(stop_id: int) -> Any:
    """What moving the stop to ``position`` of ``rep_id``'s day would break (JSON; nothing
    is saved)."""
    stop = get_stop_for_edit(stop_id, current_user)
    rep_id, position = _move_fields()
    return jsonify(_answer(locks.check_move(stop, rep_id, position)))


@bp.route("/stops/<int:stop_id>/place", methods=["POST"])
@roles_required(*PLANNER_ROLES)
@commits
def place_stop(stop_id: int) -> Any:
    """Move the stop to ``position`` of ``rep_id``'s day; what that breaks is shown."""
    stop = get_stop_for_edit(stop_id, current_user)
    run_id = stop.plan.run_id
    rep_id, position = _move_fields()
    check = locks.move_to(stop, rep_id, position)
    if request.is_json:
        return jsonify(_answer(check))
    if check.violations:
        for v in check.violations:
            flash(locks.violation_words(v), "error")
    else:
        flash(_("Moved: the day still keeps every rule."), "info")
    return redirect(url_for("planning.run", run_id=run_id, _anchor=f"plan-{check.plan.id}"))


@bp.app_template_global()
def lock_state(plan_id: int) -> dict[str, Any]:
    """A plan's locks for the run page: whether the route is locked and which stops are."""
    return locks.lock_state(plan_id)
