"""CRM core pages (issue 6). Thin views over ``geocrm.crm`` services.

Every view is ``roles_required`` (log-in included), every form posts with its CSRF token
(Flask-WTF's ``CSRFProtect`` checks it app-wide) and every lookup is scoped by the
services: another territory's account, task, opportunity or segment answers 404.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from geocrm.access import roles_required, scope_territories
from geocrm.core.transaction import commits
from geocrm.crm import duplicates, health, reports, segments, services
from geocrm.crm.charts import bar_chart
from geocrm.crm.maps import MapPoint, build_points_map
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import currency_symbol, label
from geocrm.jobs import job_json, reap_if_orphaned
from geocrm.maps.build import render_parts
from geocrm.maps.web import configured_tiles, local_assets
from geocrm.models import Account, Opportunity, Role, Territory
from geocrm.models.crm import Segment
from geocrm.models.planning import JobStatus
from geocrm.params import arg_date

bp = Blueprint("crm", __name__, url_prefix="/crm", static_folder="static")

EVERYONE = (Role.ADMIN, Role.MANAGER, Role.PLANNER, Role.REP)
DATA_STEWARDS = (Role.ADMIN, Role.MANAGER)
HEALTH_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER)
SEGMENT_MAP_LIMIT = 20_000


def today() -> date:
    """Today in the company's time zone (what "due today" and report ranges mean)."""
    return services.local_today()


def _back(default: str) -> str:
    """The form's ``next`` when it is a path on this site, else ``default`` (no open redirect)."""
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _flash_error(err: ValidationError | ConflictError) -> None:
    """Say what was refused; the redirect that follows must not commit any of it."""
    db.session.rollback()
    flash(err.message, "error")


# Map assets and tiles: geocrm.maps.web (shared by every page with a map).
assets = local_assets
tiles = configured_tiles


def account_url_pattern() -> str:
    return url_for("accounts.detail", account_id=0)[:-1] + "{id}"


def _csv_response(lines: Any, filename: str) -> Response:
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- account 360 actions (the page itself is accounts.detail) ------------------------------------


@bp.route("/accounts/<int:account_id>/interactions", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def log_interaction(account_id: int) -> Any:
    """Log a call, email, note, visit or campaign response from the 360 page."""
    try:
        services.log_interaction(current_user, account_id, request.form)
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Logged."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#timeline")


@bp.route("/accounts/<int:account_id>/tasks", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def create_task(account_id: int) -> Any:
    """Add a task on the account."""
    try:
        services.create_task(current_user, {**request.form.to_dict(), "account_id": account_id})
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Task added."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#tasks")


@bp.route("/interactions/<int:interaction_id>/task", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def task_from_next_step(interaction_id: int) -> Any:
    """Make an interaction's next step a follow-up task."""
    try:
        task = services.task_from_next_step(current_user, interaction_id, request.form)
    except (ValidationError, ConflictError) as err:
        _flash_error(err)
        return redirect(_back(url_for("crm.tasks")))
    flash(_("Follow-up task created."), "info")
    return redirect(_back(url_for("accounts.detail", account_id=task.account_id) + "#tasks"))


@bp.route("/tasks/<int:task_id>", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def update_task(task_id: int) -> Any:
    """Mark a task done, cancel or reopen it, or change its due date or assignee."""
    try:
        services.update_task(current_user, task_id, request.form)
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Task updated."), "info")
    return redirect(_back(url_for("crm.tasks")))


@bp.route("/tasks")
@roles_required(*EVERYONE)
def tasks() -> Any:
    """My open tasks (or today's, the overdue ones, or the team's)."""
    view = request.args.get("view", "mine")
    rows = services.task_list(current_user, view=view, today=today())
    return render_template("crm/tasks.html", tasks=rows, view=view, today=today())


@bp.route("/accounts/<int:account_id>/opportunities", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def create_opportunity(account_id: int) -> Any:
    """Open a deal on the account."""
    try:
        services.create_opportunity(current_user, account_id, request.form)
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Opportunity added."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#opportunities")


@bp.route("/opportunities/<int:opportunity_id>", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def update_opportunity(opportunity_id: int) -> Any:
    """Move a deal to another stage, or change its amount, close date or owner."""
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "next")}
    try:
        services.update_opportunity(current_user, opportunity_id, values)
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Opportunity updated."), "info")
    return redirect(_back(url_for("crm.pipeline")))


@bp.route("/accounts/<int:account_id>/custom-fields", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def set_custom_field(account_id: int) -> Any:
    """Set or remove one custom field."""
    try:
        services.set_custom_field(current_user, account_id, request.form.get("key", ""),
                                  request.form.get("value"))
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Saved."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#details")


@bp.route("/accounts/<int:account_id>/pin", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def correct_pin(account_id: int) -> Any:
    """Move the pin to a verified check-in position."""
    interaction_id = request.form.get("interaction_id", type=int) or 0
    try:
        services.correct_pin_from_checkin(current_user, account_id, interaction_id)
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Pin moved to the check-in position."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id))


# -- pipeline ----------------------------------------


@bp.route("/pipeline")
@roles_required(*EVERYONE)
def pipeline() -> Any:
    """The pipeline as a board (a column per stage) and a table with totals."""
    territory = request.args.get("territory", type=int)
    stmt = services.visible_opportunities(current_user)
    if territory:
        stmt = stmt.where(Opportunity.account_id.in_(
            select(Account.id).where(Account.territory_id == territory)
        ))
    opps = list(db.session.scalars(
        stmt.options(selectinload(Opportunity.account))
        .order_by(Opportunity.expected_close.is_(None), Opportunity.expected_close,
                  Opportunity.id).limit(2000)
    ))
    board: dict[str, list[Any]] = {s: [] for s in reports.STAGES}
    for o in opps:
        board[o.stage.value].append(o)
    report = reports.pipeline_by_territory(current_user)
    territories = db.session.scalars(
        scope_territories(select(Territory), current_user)
        .order_by(Territory.name)
    ).all()
    by_stage = _stage_totals(report)
    return render_template(
        "crm/pipeline.html", board=board, report=report, by_stage=by_stage,
        column_names=reports.COLUMNS,
        stages=reports.STAGES, territories=territories, territory=territory,
        chart=bar_chart([(label(s), float(by_stage[s][1])) for s in reports.STAGES],
                        title=_("Amount by stage"), unit=currency_symbol()),
    )


def _stage_totals(report: reports.Report) -> dict[str, tuple[int, Any]]:
    totals = report.totals or []
    out = {}
    for i, s in enumerate(reports.STAGES):
        out[s] = (totals[2 + 2 * i], totals[3 + 2 * i]) if totals else (0, 0)
    return out


# -- duplicates and merge ----------------------------------------


@bp.route("/duplicates")
@roles_required(*DATA_STEWARDS)
def duplicate_list() -> Any:
    """Likely duplicate pairs among the accounts the user may see, a page at a time.

    Large sets are scanned by a background job (started with the button, its progress
    shown here) and paged from its stored result; small ones are scanned on each view.
    """
    territory = request.args.get("territory", type=int)
    number = request.args.get("page", type=int) or 1
    page, job, crowded = None, None, 0
    background = duplicates.use_job(current_user)
    if background:
        found = duplicates.latest_scan(current_user, territory)
        if found is not None:
            reap_if_orphaned(found)
            job = job_json(found)
            if found.status == JobStatus.DONE:
                page = duplicates.stored_page(current_user, found.result or {}, number)
                crowded = int((found.result or {}).get("crowded") or 0)
    else:
        scan = duplicates.scan_for(current_user, territory)
        page, crowded = duplicates.page_of(duplicates.candidates(scan), number), scan.crowded
    territories = db.session.scalars(
        scope_territories(select(Territory), current_user)
        .order_by(Territory.name)
    ).all()
    return render_template("crm/duplicates.html", page=page, job=job, background=background,
                           crowded=crowded, max_block=duplicates.MAX_BLOCK,
                           territories=territories, territory=territory)


@bp.route("/duplicates/scan", methods=["POST"])
@roles_required(*DATA_STEWARDS)
@commits
def scan_duplicates() -> Any:
    """Start a background scan for duplicates (the list page shows its progress)."""
    territory = request.form.get("territory", type=int)
    duplicates.start_scan(current_user, territory)
    return redirect(url_for("crm.duplicate_list", territory=territory))


@bp.route("/duplicates/dismiss", methods=["POST"])
@roles_required(*DATA_STEWARDS)
@commits
def dismiss_duplicate() -> Any:
    """Mark a pair as not duplicates."""
    a = request.form.get("a", type=int) or 0
    b = request.form.get("b", type=int) or 0
    try:
        duplicates.dismiss_pair(current_user, a, b)
    except ValidationError as err:
        _flash_error(err)
    else:
        flash(_("Marked as different accounts."), "info")
    return redirect(_back(url_for("crm.duplicate_list")))


@bp.route("/merge", methods=["GET", "POST"])
@roles_required(*DATA_STEWARDS)
@commits
def merge() -> Any:
    """Pick the surviving account and each field's value, then merge."""
    source = request.form if request.method == "POST" else request.args
    survivor_id = source.get("survivor", type=int) or 0
    merged_id = source.get("merged", type=int) or 0
    if request.method == "POST":
        choices = {k[len("pick_"):]: v for k, v in request.form.items() if k.startswith("pick_")}
        try:
            record = duplicates.merge_accounts(current_user, survivor_id, merged_id, choices)
        except ValidationError as err:
            db.session.rollback()
            flash(err.message, "error")
        else:
            moved = sum(v for v in record.moved.values())
            flash(_("Merged “%(name)s” into this account; %(moved)s history rows moved.",
                    name=record.merged_name, moved=moved), "info")
            return redirect(url_for("accounts.detail", account_id=survivor_id))
    preview = duplicates.merge_preview(current_user, survivor_id, merged_id)
    return render_template("crm/merge.html", preview=preview), (
        422 if request.method == "POST" else 200
    )


# -- data health ----------------------------------------


@bp.route("/health")
@roles_required(*HEALTH_ROLES)
def data_health() -> Any:
    """Counts per data-quality check, and the accounts failing the chosen one."""
    check = request.args.get("check") or "no_location"
    counts = health.health_counts(current_user, today())
    rows = health.health_list(current_user, check, today())
    return render_template("crm/health.html", counts=counts, rows=rows, check=check,
                           checks=health.CHECKS)


# -- segments ----------------------------------------


@bp.route("/segments")
@roles_required(*EVERYONE)
def segment_list() -> Any:
    """Saved segments: mine and the shared ones."""
    rows = list(db.session.scalars(
        segments.visible_segments(current_user).order_by(Segment.name, Segment.id)
    ))
    described = [(s, segments.SegmentFilters.parse(s.filters or {}).describe()) for s in rows]
    return render_template("crm/segments.html", segments=described)


@bp.route("/segments/new", methods=["GET", "POST"])
@roles_required(*EVERYONE)
@commits
def segment_new() -> Any:
    """Create a segment from filters."""
    return _segment_form(None)


@bp.route("/segments/<int:segment_id>/edit", methods=["GET", "POST"])
@roles_required(*EVERYONE)
@commits
def segment_edit(segment_id: int) -> Any:
    """Change a segment's name, sharing or filters."""
    return _segment_form(segment_id)


def _segment_form(segment_id: int | None) -> Any:
    segment = segments.get_segment_or_404(segment_id, current_user) if segment_id else None
    error = None
    if request.method == "POST":
        try:
            saved = segments.save_segment(current_user, request.form, segment_id)
        except ValidationError as err:
            db.session.rollback()
            error = err
        else:
            flash(_("Segment saved."), "info")
            return redirect(url_for("crm.segment_detail", segment_id=saved.id))
    if request.method == "POST":
        values: Any = request.form
    elif segment is not None:
        values = {"name": segment.name, "description": segment.description or "",
                  "shared": segment.shared, **(segment.filters or {})}
    else:
        values = {}
    return render_template(
        "crm/segment_form.html", segment=segment, values=values, error=error,
        choices=segments.filter_choices(current_user),
    ), (422 if error else 200)


def _multi(values: Any, name: str) -> list[str]:
    if hasattr(values, "getlist"):
        return [str(v) for v in values.getlist(name)]
    raw = values.get(name) or []
    return [str(v) for v in (raw if isinstance(raw, list) else [raw])]


@bp.app_template_global("crm_multi")
def crm_multi(values: Any, name: str) -> list[str]:
    """Selected values of a multi-value field, from a form or a stored filter dict."""
    return _multi(values, name)


@bp.route("/segments/<int:segment_id>")
@roles_required(*EVERYONE)
def segment_detail(segment_id: int) -> Any:
    """The segment's accounts (as the user sees them), with export, map, plan and responses."""
    segment = segments.get_segment_or_404(segment_id, current_user)
    filters = segments.SegmentFilters.parse(segment.filters or {})
    ids = segments.evaluate(filters, current_user)
    shown = segments.segment_accounts(ids, limit=500)
    return render_template(
        "crm/segment.html", segment=segment, description=filters.describe(), count=len(ids),
        accounts=shown, outcomes=segments.CAMPAIGN_OUTCOMES, today=today(),
        can_edit=segment.created_by_id == current_user.id or current_user.role == Role.ADMIN,
        can_plan=current_user.role in (Role.ADMIN, Role.MANAGER, Role.PLANNER),
    )


@bp.route("/segments/<int:segment_id>/delete", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def segment_delete(segment_id: int) -> Any:
    """Delete a segment (its maker or an admin)."""
    segments.delete_segment(current_user, segment_id)
    flash(_("Segment deleted."), "info")
    return redirect(url_for("crm.segment_list"))


@bp.route("/segments/<int:segment_id>.csv")
@roles_required(*EVERYONE)
def segment_csv(segment_id: int) -> Any:
    """The segment's accounts as CSV."""
    ids = segments.segment_account_ids(segment_id, current_user)
    accounts = segments.segment_accounts(ids)
    return _csv_response(segments.accounts_csv(accounts), f"segment-{segment_id}.csv")


@bp.route("/segments/<int:segment_id>/map")
@roles_required(*EVERYONE)
def segment_map(segment_id: int) -> Any:
    """The segment's located accounts on a clustered map."""
    segment = segments.get_segment_or_404(segment_id, current_user)
    ids = segments.segment_account_ids(segment_id, current_user)
    accounts = [a for a in segments.segment_accounts(ids) if a.lat is not None]
    points = [MapPoint(a.lat, a.lon, a.name, "account", a.id)
              for a in accounts[:SEGMENT_MAP_LIMIT]]
    fmap = build_points_map(points, assets=assets(), tiles=tiles(),
                            account_url=account_url_pattern(), cluster=True)
    return render_template("crm/segment_map.html", segment=segment, parts=render_parts(fmap),
                           shown=len(points), located=len(accounts), total=len(ids))


@bp.route("/segments/<int:segment_id>/responses", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def segment_responses(segment_id: int) -> Any:
    """Record campaign responses of the chosen accounts as interactions."""
    try:
        n = segments.record_campaign_responses(current_user, segment_id, request.form)
    except ValidationError as err:
        db.session.rollback()
        _flash_error(err)
    else:
        flash(ngettext("%(num)s campaign response recorded.",
                       "%(num)s campaign responses recorded.", n), "info")
    return redirect(url_for("crm.segment_detail", segment_id=segment_id))


# -- reports ----------------------------------------


@bp.route("/reports")
@roles_required(*EVERYONE)
def report_index() -> Any:
    """The list of reports."""
    return render_template("crm/reports.html", reports=reports.REPORTS)


@bp.route("/reports/<key>")
@roles_required(*EVERYONE)
def report(key: str) -> Any:
    """One report as a page with a chart, or as CSV with ``?format=csv``."""
    if key not in reports.REPORTS:
        raise NotFoundError(f"No report {key!r}.")
    now = today()
    as_of = arg_date("as_of", now)
    start = arg_date("start", now - timedelta(days=13))
    end = arg_date("end", now)
    params: dict[str, Any] = {}
    if key == "visits":
        group = request.args.get("group", "day")
        result = reports.visits_per_rep(current_user, start, end, group=group)
        params = {"start": start, "end": end, "group": group}
    elif key == "coverage":
        result = reports.coverage(current_user, as_of)
        params = {"as_of": as_of}
    elif key == "overdue":
        result = reports.overdue_accounts(current_user, as_of)
        params = {"as_of": as_of}
    elif key == "falling":
        window = request.args.get("window", 90, type=int) or 90
        result = reports.falling_frequency(current_user, as_of, window=window)
        params = {"as_of": as_of, "window": window}
    elif key == "planned":
        result = reports.planned_vs_done(current_user, start, end)
        params = {"start": start, "end": end}
    else:
        result = reports.pipeline_by_territory(current_user)
    if request.args.get("format") == "csv":
        lines = segments.csv_text(result.columns, result.csv_rows())
        return _csv_response(lines, f"{key}-{now.isoformat()}.csv")
    chart = bar_chart(result.chart[:60], title=result.title, unit=result.chart_unit,
                      max_value=100.0 if result.chart_unit.startswith("%") else None)
    return render_template("crm/report.html", report=result, key=key, params=params,
                           chart=chart, reports=reports.REPORTS, column_names=reports.COLUMNS)
