"""/api/v1/plans (issue 18): planning runs from a script, the planner page's way.

``POST /plans`` checks the request with the planner form's rules
(:func:`geocrm.planning.request.parse_plan_request`: reps you may plan for, territories and
segments you may see) and starts the same background job
(:func:`geocrm.planning.request.start_run` → ``geocrm.planning.job:plan_run_job``); it
answers 202 with the run and its job. Poll ``GET /plans/{id}`` (or ``GET /jobs/{id}``)
until ``job.finished``; ``POST /plans/{id}/publish`` publishes exactly as the page's button
does (:func:`geocrm.planning.edits.publish`: the reps' notifications and the
``plan.published`` webhooks). Scope is the planner page's: admins and planners every run,
managers the runs they made or whose every plan is for their team; reps are refused (their
published days reach them through the field app).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask import jsonify, url_for
from flask_login import current_user, login_required
from pydantic import Field
from sqlalchemy import or_, select
from werkzeug.datastructures import MultiDict

from geocrm import jobs
from geocrm.access import roles_required
from geocrm.api import bp
from geocrm.api.object_lists import (
    Ids,
    PageQuery,
    SortKey,
    check_unchanged,
    etag_answer,
    iso,
    keyset_page,
    utc_naive,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.limits import MAX_DB_ID
from geocrm.models import PlanStatus
from geocrm.models.planning import Job, PlanRun
from geocrm.planning import services
from geocrm.planning.notes import reason_words
from geocrm.planning.results import PlanResult

SORT_KEYS = {"id": SortKey(PlanRun.id), "created_at": SortKey(PlanRun.created_at, "time")}
#: The planner form's field names, as the API calls them.
FIELD_NAMES = {"rep": "rep_ids", "territory": "territory_ids", "segment": "segment_id",
               "overdue": "overdue_only", "cadence": "by_cadence", "account": "account_ids"}


class PlanCreate(Schema):
    """What to plan: reps, days and which accounts (the planner form's choices)."""

    rep_ids: Ids = Field(min_length=1, max_length=200)
    start: date
    end: date | None = Field(None, description="the last day (default: start)")
    territory_ids: Ids = Field(default_factory=list, max_length=200)
    segment_id: int | None = Field(None, ge=1, le=MAX_DB_ID)
    account_ids: Ids = Field(default_factory=list, max_length=5000)
    overdue_only: bool = False
    by_cadence: bool = Field(False, description="spread visits over the days by cadence")
    holidays: list[date] = Field(default_factory=list, max_length=366)


class PlanListQuery(PageQuery):
    status: list[PlanStatus] = Field(default_factory=list)
    updated_since: datetime | None = Field(
        None, description="runs created, planned (job finished) or published at or after "
        "this time")
    sort: Literal["id", "-id", "created_at", "-created_at"] = "id"
    limit: int = Field(50, ge=1, le=200)


class JobOut(Loose):
    id: int
    status: str
    finished: bool
    progress: float


class PlanRunOut(Loose):
    id: int
    status: str
    start: str
    end: str
    job: JobOut | None
    plans: list[dict[str, Any]]


class PlanRunPage(Loose):
    total: int
    items: list[PlanRunOut]
    next_cursor: str | None


def _plan_json(plan: Any) -> dict[str, Any]:
    return {
        "id": plan.id, "rep_id": plan.rep_id, "date": plan.plan_date.isoformat(),
        "status": plan.status.value, "distance_m": plan.distance_m,
        "duration_s": plan.duration_s, "published_at": iso(plan.published_at),
        "stops": [{"id": s.id, "seq": s.seq, "account_id": s.account_id,
                   "arrival": iso(s.arrival), "start": iso(s.start),
                   "departure": iso(s.departure), "pinned": s.pinned}
                  for s in sorted(plan.stops, key=lambda s: s.seq)],
    }


def run_json(run: PlanRun, *, detail: bool = True) -> dict[str, Any]:
    """A run with its job's progress; with ``detail`` its plans and what was left out."""
    params = run.params or {}
    body: dict[str, Any] = {
        "id": run.id, "status": run.status.value, "start": run.start_date.isoformat(),
        "end": run.end_date.isoformat(), "created_by": run.created_by_id,
        "created_at": iso(run.created_at), "published_at": iso(run.published_at),
        "rep_ids": params.get("rep_ids", []), "accounts": len(params.get("account_ids", [])),
        "by_cadence": bool(params.get("by_cadence")),
        "job": jobs.job_json(run.job) if run.job is not None else None,
        "plans": [],
    }
    if detail and services.planning_finished(run):
        body["plans"] = [_plan_json(p) for p in run.plans]
        body["unassigned"] = [{"account_id": v.account_id, "name": v.name, "date": v.date,
                               "reason": v.reason, "text": reason_words(v.to_json())}
                              for v in PlanResult.of_run(run).unassigned]
    return body


def _answer(run: PlanRun, status: int = 200) -> Any:
    return etag_answer(run_json(run), status)


@bp.route("/plans")
@roles_required(*services.PLANNER_ROLES)
@api_schema(query=PlanListQuery, responses={200: PlanRunPage}, errors=(403,))
def plans(query: PlanListQuery) -> Any:
    """A page of the planning runs you may open (keyset ``cursor``), newest last by default."""
    stmt = services.visible_runs(current_user)
    if query.status:
        stmt = stmt.where(PlanRun.status.in_(query.status))
    since = utc_naive(query.updated_since)
    if since is not None:
        finished = select(Job.id).where(Job.id == PlanRun.job_id, Job.finished_at >= since)
        stmt = stmt.where(or_(PlanRun.created_at >= since, PlanRun.published_at >= since,
                              finished.exists()))
    rows, next_cursor, total = keyset_page(stmt, sort=query.sort, keys=SORT_KEYS,
                                           id_column=PlanRun.id, cursor=query.cursor,
                                           limit=query.limit)
    return jsonify({"total": total, "items": [run_json(r, detail=False) for r in rows],
                    "next_cursor": next_cursor})


def _form(body: PlanCreate) -> MultiDict[str, Any]:
    """The request as the planner form sends it, so the form's rules judge it."""
    form: MultiDict[str, Any] = MultiDict()
    for rid in body.rep_ids:
        form.add("rep", str(rid))
    for tid in body.territory_ids:
        form.add("territory", str(tid))
    for aid in body.account_ids:
        form.add("account", str(aid))
    form["start"] = body.start.isoformat()
    form["end"] = (body.end or body.start).isoformat()
    if body.segment_id is not None:
        form["segment"] = str(body.segment_id)
    form["overdue"] = "1" if body.overdue_only else "0"
    form["cadence"] = "1" if body.by_cadence else "0"
    form["holidays"] = ",".join(d.isoformat() for d in body.holidays)
    return form


@bp.route("/plans", methods=["POST"])
@roles_required(*services.PLANNER_ROLES)
@commits
@api_schema(body=PlanCreate, responses={202: PlanRunOut}, errors=(403,),
            headers={202: {"Location": "the run to poll"}})
def create_plan(body: PlanCreate) -> Any:
    """Start planning in the background (the planner page's job); poll the run it answers."""
    try:
        req = services.parse_plan_request(_form(body), current_user)
        run = services.start_run(current_user, req)
    except ValidationError as err:
        raise ValidationError(FIELD_NAMES.get(err.field, err.field), err.reason) from None
    response = _answer(run, 202)
    response.headers["Location"] = url_for("api.plan", run_id=run.id)
    return response


@bp.route("/plans/<int:run_id>")
@roles_required(*services.PLANNER_ROLES)
@api_schema(responses={200: PlanRunOut}, errors=(403,),
            headers={200: {"ETag": "the run's state"}})
def plan(run_id: int) -> Any:
    """A run: its job's status and progress; once planned, its plans and stops and what was
    left out, with the reason."""
    return _answer(services.get_run_or_404(run_id, current_user))


@bp.route("/plans/<int:run_id>/publish", methods=["POST"])
@roles_required(*services.PLANNER_ROLES)
@commits
@api_schema(responses={200: PlanRunOut}, errors=(403, 409, 412),
            headers={200: {"ETag": "the run's new state"}})
def publish_plan(run_id: int) -> Any:
    """Publish the run's plans to the reps (their notifications and the ``plan.published``
    webhooks, as on the page); 409 while it is planning or once published."""
    run = services.get_run_or_404(run_id, current_user)
    check_unchanged(run_json(run))
    services.publish(run)
    return _answer(run)


@bp.route("/jobs/<int:job_id>")
@login_required
@api_schema(responses={200: JobOut})
def job(job_id: int) -> Any:
    """A background job you started (admins: any): status, progress, result or error."""
    response = jsonify(jobs.job_json(jobs.get_job_for(job_id, current_user)))
    response.headers["Cache-Control"] = "no-store"
    return response
