"""Planner pages (issue 3). Thin views over ``geocrm.planning.services``.

Services flush; each view that writes is a :func:`~geocrm.core.transaction.commits` view:
its answer commits, an error answer or exception rolls the whole change back.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from geocrm import jobs
from geocrm.access import roles_required
from geocrm.core.transaction import commits
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import current_locale, progress_text
from geocrm.maps.web import (
    configured_tiles,
    local_assets,
    nav_app_for,
    nav_app_names,
    naver_appname,
)
from geocrm.models import Role
from geocrm.planning import exports, progress, services  # noqa: F401 - progress: its words
from geocrm.planning.maps import LeftOut
from geocrm.planning.notes import reason_words
from geocrm.planning.notes import render as render_note
from geocrm.planning.page_data import (
    lock_placeholder,
    plan_map_data,
    route_frame,
    stop_edit_data,
)

bp = Blueprint(
    "planning", __name__, url_prefix="/planning", static_folder="static",
    static_url_path="/static",
)
PLANNERS = services.PLANNER_ROLES


@bp.app_template_filter("note")
def note_filter(value: Any) -> str:
    """A stored planning note (code + parameters, or an older plain sentence) in words."""
    return render_note(value)


@bp.app_template_filter("reason_words")
def reason_filter(row: Any) -> str:
    """Why a visit was left out (a stored row or a LeftOutVisit), in the reader's language."""
    return reason_words(row.to_json() if hasattr(row, "to_json") else row)


def _route_map(plans: list[services.PlanView], left_out: list[LeftOut]) -> Any:
    """The page's map frame (Leaflet and the base layer); the routes travel as data."""
    return route_frame(plans, left_out, assets=local_assets(), tiles=configured_tiles())


# -- the planner page -----------------------------------------------------------------------
@bp.route("/")
@login_required
def index() -> Any:
    """Planner form and recent runs (reps are sent to their own routes)."""
    if current_user.role == Role.REP:
        return redirect(url_for("planning.my"))
    if current_user.role not in PLANNERS:
        return redirect(url_for("main.home"))
    return _form_page()


def _form_page(error: ValidationError | None = None, status: int = 200) -> Any:
    tomorrow = services.local_now(services.local_zone()).date() + timedelta(days=1)
    runs = services.recent_runs(current_user)
    form = request.form if request.method == "POST" else None
    return render_template(
        "planning/index.html",
        reps=services.plannable_reps(current_user),
        territories=services.territory_choices(current_user),
        segments=services.segment_choices(current_user),
        segments_available=services.segment_lookup() is not None,
        runs=runs,
        default_date=tomorrow.isoformat(),
        form=form,
        error=error,
    ), status


@bp.route("/runs", methods=["POST"])
@roles_required(*PLANNERS)
@commits
def create_run() -> Any:
    """Check the request, freeze it into a run, start the planning job."""
    try:
        req = services.parse_plan_request(request.form, current_user)
        run = services.start_run(current_user, req)
    except ValidationError as err:
        db.session.rollback()
        return _form_page(err, 422)
    return redirect(url_for("planning.run", run_id=run.id))


@bp.route("/runs/<int:run_id>")
@roles_required(*PLANNERS)
def run(run_id: int) -> Any:
    """Progress while the job runs; then the map, timelines, unassigned list and tweaks."""
    plan_run = services.get_run_or_404(run_id, current_user)
    if not services.planning_finished(plan_run):
        return render_template("planning/progress.html", run=plan_run, job=plan_run.job)
    page = services.run_page(plan_run)
    return render_template(
        "planning/run.html",
        run=plan_run,
        job=page.job,
        plans=page.plans,
        timelines={p.id: services.timeline(p) for p in page.plans},
        unassigned=page.unassigned,
        notes=page.notes,
        day_summaries=page.day_summaries,
        parts=_route_map(page.plans, page.left_out),
        plan_map=plan_map_data(page.plans, {p.id: p.params for p in plan_run.plans},
                               page.left_out),
        plan_edit=stop_edit_data(page.plans, page.movable) if page.editable else None,
        lock_placeholder=lock_placeholder(),
        reps=page.reps,
        days=page.days,
        calendar=page.calendar,
        movable=page.movable,
        editable=page.editable,
        hhmm=services.hhmm,
    )


@bp.route("/runs/<int:run_id>/rerun", methods=["POST"])
@roles_required(*PLANNERS)
@commits
def rerun(run_id: int) -> Any:
    """Plan again, keeping pinned stops with their rep and day."""
    plan_run = services.get_run_or_404(run_id, current_user)
    services.rerun(plan_run, current_user)
    flash(_("Re-planning with your pins…"), "info")
    return redirect(url_for("planning.run", run_id=run_id))


@bp.route("/runs/<int:run_id>/publish", methods=["POST"])
@roles_required(*PLANNERS)
@commits
def publish(run_id: int) -> Any:
    """Publish the run's plans to the reps' phones."""
    plan_run = services.get_run_or_404(run_id, current_user)
    count = services.publish(plan_run)
    flash(ngettext("Published %(num)s plan to the reps.", "Published %(num)s plans to the reps.",
                   count), "info")
    return redirect(url_for("planning.run", run_id=run_id))


@bp.route("/runs/<int:run_id>/assign", methods=["POST"])
@roles_required(*PLANNERS)
@commits
def assign(run_id: int) -> Any:
    """Put a left-out account on a rep's day by hand (pinned)."""
    plan_run = services.get_run_or_404(run_id, current_user)
    try:
        account_id = int(request.form.get("account_id", ""))
        rep_id, day = request.form.get("target", ":").split(":", 1)
        rep_id_int, day_value = int(rep_id), date.fromisoformat(day)
    except ValueError as exc:
        raise ValidationError("target", _("choose a rep and a day")) from exc
    services.assign_unassigned(plan_run, account_id, rep_id_int, day_value)
    return redirect(url_for("planning.run", run_id=run_id, _anchor="unassigned"))


@bp.route("/stops/<int:stop_id>/move", methods=["POST"])
@roles_required(*PLANNERS)
@commits
def move_stop(stop_id: int) -> Any:
    """Move a stop one place up or down in its rep's day."""
    stop = services.get_stop_for_edit(stop_id, current_user)
    run_id, plan_id = stop.plan.run_id, stop.plan_id
    warnings = services.move_stop(stop, request.form.get("direction", ""))
    for w in warnings:
        flash(render_note(w), "error")
    return redirect(url_for("planning.run", run_id=run_id, _anchor=f"plan-{plan_id}"))


@bp.route("/stops/<int:stop_id>/reassign", methods=["POST"])
@roles_required(*PLANNERS)
@commits
def reassign_stop(stop_id: int) -> Any:
    """Move a stop to another rep's plan of the same day (it becomes pinned there)."""
    stop = services.get_stop_for_edit(stop_id, current_user)
    run_id = stop.plan.run_id
    try:
        rep_id = int(request.form.get("rep_id", ""))
    except ValueError as exc:
        raise ValidationError("rep_id", _("choose a rep")) from exc
    new = services.reassign_stop(stop, rep_id)
    return redirect(url_for("planning.run", run_id=run_id, _anchor=f"plan-{new.plan_id}"))


@bp.route("/stops/<int:stop_id>/pin", methods=["POST"])
@roles_required(*PLANNERS)
@commits
def pin_stop(stop_id: int) -> Any:
    """Pin (or unpin) a stop to its rep and day for the next re-run."""
    stop = services.get_stop_for_edit(stop_id, current_user)
    services.toggle_pin(stop)
    return redirect(url_for("planning.run", run_id=stop.plan.run_id,
                            _anchor=f"plan-{stop.plan_id}"))


# -- one plan: reps and planners ------------------------------------------------------------
@bp.route("/my")
@login_required
def my() -> Any:
    """A rep's published routes from today on."""
    plans = services.my_plans(current_user)
    return render_template("planning/my.html", plans=plans)


@bp.route("/plans/<int:plan_id>")
@login_required
def plan(plan_id: int) -> Any:
    """One rep's day: map, timeline, stops, navigation links, exports, re-plan."""
    route_plan = services.get_plan_or_404(plan_id, current_user)
    view = services.plan_page_view(route_plan)
    points = exports.route_points(view)
    point_names = [_("Start")] + [s.name for s in view.stops] + [_("Home")]
    return render_template(
        "planning/plan.html",
        plan=view,
        record=route_plan,
        timeline=services.timeline(view),
        parts=_route_map([view], []),
        plan_map=plan_map_data([view], {route_plan.id: route_plan.params}, []),
        google=exports.google_links(points),
        apple=exports.apple_links(points),
        waze=exports.waze_links(points),
        naver=exports.naver_links(points, point_names, naver_appname()),
        kakao=exports.kakao_links(points, point_names),
        naver_max=exports.NAVER_MAX_WAYPOINTS,
        nav_names=nav_app_names(),
        nav_default=nav_app_for(current_user, current_locale()),
        stop_names=[s.name for s in view.stops] + [_("Home")],
        can_replan=services.can_replan(route_plan, current_user),
        replan_from=render_note(services.replan_origin(route_plan, None).note()),
        hhmm=services.hhmm,
    )


@bp.route("/plans/<int:plan_id>/route.ics")
@login_required
def plan_ics(plan_id: int) -> Any:
    """The day as an iCalendar file (one event per stop)."""
    route_plan = services.get_plan_or_404(plan_id, current_user)
    view = services.plan_view(route_plan, "", services.local_zone())
    body = exports.plans_ics([view], services.local_zone(), domain=request.host.split(":")[0],
                             calendar_name=f"{view.rep_name} {view.day.isoformat()}")
    return _download(body, "text/calendar; charset=utf-8",
                     exports.export_filename(view.rep_name, view.day, "ics"))


@bp.route("/plans/<int:plan_id>/route.csv")
@login_required
def plan_csv(plan_id: int) -> Any:
    """The day's stops as CSV."""
    route_plan = services.get_plan_or_404(plan_id, current_user)
    view = services.plan_view(route_plan, "", services.local_zone())
    return _download(exports.plans_csv([view]), "text/csv; charset=utf-8",
                     exports.export_filename(view.rep_name, view.day, "csv"))


@bp.route("/runs/<int:run_id>/reps/<int:rep_id>/route.ics")
@roles_required(*PLANNERS)
def run_rep_ics(run_id: int, rep_id: int) -> Any:
    """Every day of a run for one rep, as one calendar."""
    plan_run = services.get_run_or_404(run_id, current_user)
    views = [p for p in services.run_plan_views(plan_run) if p.rep_id == rep_id]
    if not views:
        raise NotFoundError(f"No plans for rep {rep_id} in this run.")
    body = exports.plans_ics(views, services.local_zone(), domain=request.host.split(":")[0],
                             calendar_name=f"{views[0].rep_name} routes")
    return _download(body, "text/calendar; charset=utf-8",
                     exports.export_filename(views[0].rep_name, views[0].day, "ics"))


@bp.route("/runs/<int:run_id>/route.csv")
@roles_required(*PLANNERS)
def run_csv(run_id: int) -> Any:
    """Every stop of the run as CSV."""
    plan_run = services.get_run_or_404(run_id, current_user)
    return _download(exports.plans_csv(services.run_plan_views(plan_run)),
                     "text/csv; charset=utf-8", f"plan-run-{plan_run.id}.csv")


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype.split(";")[0])
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/plans/<int:plan_id>/replan", methods=["POST"])
@login_required
@commits
def replan(plan_id: int) -> Any:
    """Re-plan the rest of a published day from where the rep is now."""
    route_plan = services.get_plan_or_404(plan_id, current_user)
    if not services.can_replan(route_plan, current_user):
        raise NotFoundError(f"No plan {plan_id}.")
    position = services.parse_position(request.form)
    at = services.parse_clock(request.form.get("at"))
    summary = services.replan_day(route_plan, position=position, at_s=at)
    for line in summary:
        flash(render_note(line), "info")
    return redirect(url_for("planning.plan", plan_id=plan_id))


# -- jobs -------------------------------------------------------------------------------------
@bp.route("/jobs/<int:job_id>")
@login_required
def job_status(job_id: int) -> Any:
    """A background job's status and progress as JSON (its creator and admins only)."""
    found = jobs.get_job_for(job_id, current_user)
    # The progress as stored (English, for programs) and in the reader's words, for the page.
    response = jsonify({**jobs.job_json(found), "message_text": progress_text(found.message)})
    response.headers["Cache-Control"] = "no-store"
    return response
