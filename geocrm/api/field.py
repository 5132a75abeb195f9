"""JSON API of the field app: today's plan, the offline bundle, visits, interactions, tasks,
photos, tokens and the batch sync. Single writes go through the same exactly-once path as
the batch (``Idempotency-Key`` header, defaulting to the body's ``uuid``). The lists of
interactions and tasks are the CRM's (:mod:`geocrm.api.interactions`,
:mod:`geocrm.api.tasks_api`)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_login import current_user, login_required

from geocrm.api import bp
from geocrm.api.accounts import account_json
from geocrm.api.tokens import (
    create_token,
    list_tokens,
    revoke_token,
    scopes_for_new_token,
    token_json,
)
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError, problem
from geocrm.field import services
from geocrm.field.sync import apply_batch, apply_op, interaction_json, task_json
from geocrm.models import utcnow
from geocrm.models.field import VisitPhoto
from geocrm.params import arg_int


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    return data


def plan_json(plan: services.TodayPlan) -> dict[str, Any]:
    def iso(v: Any) -> str | None:
        return v.isoformat() if v else None

    return {
        "date": plan.day.isoformat(),
        "source": plan.source,
        "plan_id": plan.plan_id,
        "stops": [
            {
                "seq": s.seq,
                "route_stop_id": s.route_stop_id,
                "arrival": iso(s.arrival),
                "departure": iso(s.departure),
                "status": s.status,
                "overdue_days": s.overdue_days,
                "account": account_json(s.account),
            }
            for s in plan.stops
        ],
        # along the roads when the plan was made on them: [{"s", "m", "line": [[lat, lon]]}]
        "legs": plan.legs,
    }


@bp.route("/today")
@login_required
def today() -> Any:
    """Today's route: the published plan, or the rep's accounts in a sensible order."""
    return jsonify(plan_json(services.today_plan(current_user)))


@bp.route("/bundle")
@login_required
def bundle() -> Any:
    """Everything the phone keeps for offline use, in one response the worker caches."""
    limit = arg_int("limit", 2000, 1, 5000)
    accounts = services.offline_accounts(current_user, limit)
    visible = services.visible_account_count(current_user)
    ids = [a.id for a in accounts]
    contacts = services.contacts_for(ids)
    recent = services.recent_interactions(ids)
    tasks = services.open_tasks(current_user)
    items = []
    for a in accounts:
        body = account_json(a)
        body["contacts"] = [
            {"id": c.id, "name": c.name, "title": c.title, "phone": c.phone, "email": c.email}
            for c in contacts.get(a.id, [])
        ]
        body["interactions"] = [interaction_json(i) for i in recent.get(a.id, [])]
        items.append(body)
    return jsonify(
        {
            "generated_at": utcnow().isoformat() + "Z",
            "user": {
                "id": current_user.id,
                "name": current_user.name,
                "home_lat": current_user.home_lat,
                "home_lon": current_user.home_lon,
            },
            "geofence_m": current_app.config.get("GEOCRM_GEOFENCE_METERS", 150),
            "outcomes": list(services.OUTCOMES),
            "today": plan_json(services.today_plan(current_user)),
            "accounts": items,
            # Honest limits: the phone says how many it keeps and how many it left out, and
            # which (the ones farthest from home; Near me online still finds them).
            "accounts_visible": visible,
            "accounts_left_out": max(0, visible - len(items)),
            "accounts_kept_rule": "nearest_home" if current_user.home_lat is not None
            else "oldest_first",
            "tasks": [task_json(t) for t in tasks],
        }
    )


def _single(op: str) -> Any:
    """One write through the exactly-once path; the answer mirrors the stored result."""
    data = _body()
    key = request.headers.get("Idempotency-Key")
    if key is None:
        # A visit's check-in, log and check-out share its uuid: the key is per operation.
        entity = data.get("uuid")
        if not isinstance(entity, str) or not entity:
            raise ValidationError("uuid", "is required (or send an Idempotency-Key header)")
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"geocrm:{op}:{entity}"))
    answer = apply_op(current_user, {"id": key, "op": op, "data": data})
    if not answer["ok"]:
        body = answer["problem"]
        return problem(
            answer["status"] or 422,
            body.get("title", "Error"),
            body.get("detail", ""),
            **{k: v for k, v in body.items() if k not in {"title", "detail"}},
        )
    response = jsonify(answer["result"])
    response.status_code = 200 if answer["replayed"] else answer["status"]
    response.headers["Idempotent-Replayed"] = "true" if answer["replayed"] else "false"
    return response


@bp.route("/interactions", methods=["POST"])
@login_required
@commits
def create_interaction() -> Any:
    """Log an interaction (or complete a visit), with optional follow-up task and photo."""
    return _single("interaction")


@bp.route("/checkins", methods=["POST"])
@login_required
@commits
def checkin() -> Any:
    """Check in at an account: position, accuracy and distance recorded, flagged if unsure."""
    return _single("checkin")


@bp.route("/checkouts", methods=["POST"])
@login_required
@commits
def checkout() -> Any:
    """Check out of a visit."""
    return _single("checkout")


@bp.route("/accounts", methods=["POST"])
@login_required
@commits
def create_account_here() -> Any:
    """Add a prospect at the phone's position (owned by the rep)."""
    return _single("account_create")


@bp.route("/tasks", methods=["POST"])
@login_required
@commits
def create_task() -> Any:
    """Create a follow-up task on a visible account."""
    return _single("task")


@bp.route("/tasks/<int:task_id>/done", methods=["POST"])
@login_required
@commits
def task_done(task_id: int) -> Any:
    """Mark a task done."""
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    task = services.complete_task(current_user, {**data, "task_id": task_id})
    return jsonify(task_json(task))


@bp.route("/sync", methods=["POST"])
@login_required
@commits
def sync() -> Any:
    """Apply the phone's outbox in order; each write by its client id, exactly once."""
    data = _body()
    results = apply_batch(current_user, data.get("ops"))
    return jsonify(
        {
            "results": results,
            "applied": sum(1 for r in results if r["ok"] and not r["replayed"]),
            "replayed": sum(1 for r in results if r["replayed"]),
            "failed": sum(1 for r in results if not r["ok"]),
            "server_time": utcnow().isoformat() + "Z",
        }
    )


@bp.route("/photos/<int:photo_id>")
@login_required
def photo(photo_id: int) -> Any:
    """A visit photo, if its account is visible to the user."""
    row: VisitPhoto = services.photo_for(photo_id, current_user)
    response = Response(row.data, mimetype=row.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/tokens")
@login_required
def tokens() -> Any:
    """The user's live API tokens (never the token itself)."""
    return jsonify({"items": [token_json(t) for t in list_tokens(current_user)]})


@bp.route("/tokens", methods=["POST"])
@login_required
@commits
def new_token() -> Any:
    """Create a bearer token; the plain token is in this answer only."""
    data = _body()
    days = data.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise ValidationError("days", "must be a whole number")
    name = data.get("name")
    if not isinstance(name, str):
        raise ValidationError("name", "is required")
    row, plain = create_token(current_user, name, days, scopes_for_new_token(data.get("scopes")))
    response = jsonify({**token_json(row), "token": plain})
    response.status_code = 201
    return response


@bp.route("/tokens/<int:token_id>", methods=["DELETE"])
@login_required
@commits
def delete_token(token_id: int) -> Any:
    """Revoke a token."""
    revoke_token(current_user, token_id)
    return "", 204
