"""The field app's "re-plan from here" (issue 15, item 6): ``POST /api/v1/today/replan``
with the phone's position in the JSON body (never the URL) and its client id in the
``Idempotency-Key`` header — the same exactly-once path as the outbox's ``replan`` write, so
a request that timed out and was queued is applied once — and ``GET /api/v1/today/replan``,
today's latest re-plan in the reader's language (how the phone shows a queued re-plan
once it has synced)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required

from geocrm.api import bp
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError, problem
from geocrm.field.replan import last_replan, words
from geocrm.field.sync import apply_op


@bp.route("/today/replan", methods=["POST"])
@login_required
@commits
def replan_today() -> Any:
    """Re-plan the rest of today from the phone's position; what changed, in words."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise ValidationError("Idempotency-Key", "is required (the phone's id for this re-plan)")
    answer = apply_op(current_user, {"id": key, "op": "replan", "data": data})
    if not answer["ok"]:
        body = answer["problem"]
        return problem(answer["status"] or 422, body.get("title", "Error"),
                       body.get("detail", ""),
                       **{k: v for k, v in body.items() if k not in {"title", "detail"}})
    result = answer["result"]
    response = jsonify({**result, "lines": words(list(result.get("summary") or [])),
                        "replayed": answer["replayed"]})
    response.status_code = 200 if answer["replayed"] else 201
    return response


@bp.route("/today/replan")
@login_required
def replan_today_words() -> Any:
    """Today's latest re-plan, in the reader's language."""
    response = jsonify(last_replan(current_user))
    response.headers["Cache-Control"] = "no-store"
    return response
