"""The team's day pages: the manager's live day, daily reports and mileage.

Thin: each view reads the request, calls :mod:`geocrm.teamday`'s services and renders. Reps
get their own report and mileage only; the manager's day is for managers, planners, admins.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from geocrm.access import roles_required
from geocrm.clock import local_today
from geocrm.core.transaction import commits
from geocrm.errors import ConflictError, ValidationError
from geocrm.extensions import db
from geocrm.maps.build import render_parts
from geocrm.maps.web import configured_tiles, local_assets
from geocrm.models import Role, utcnow
from geocrm.params import arg_date, need_date, to_date, to_int
from geocrm.teamday import exports, reports
from geocrm.teamday.day import day_territories, team_day
from geocrm.teamday.maps import build_day_map
from geocrm.teamday.mileage import month_bounds, period_mileage
from geocrm.teamday.present import STATUS_WORDS, day_data
from geocrm.teamday.visits import get_rep_or_404, team_reps

bp = Blueprint("teamday", __name__, url_prefix="/team")
LEADS = (Role.ADMIN, Role.MANAGER, Role.PLANNER)


def _day() -> date:
    return arg_date("day", local_today())


def _refresh_s() -> int:
    return int(current_app.config.get("GEOCRM_TEAMDAY_REFRESH_S", 60))


def _filters() -> dict[str, int | None]:
    """``?territory=`` and ``?rep=``: the day of one territory's reps, or of one rep."""
    return {"territory_id": to_int(request.args.get("territory"), "territory", default=None),
            "rep_id": to_int(request.args.get("rep"), "rep", default=None)}


@bp.route("/day")
@roles_required(*LEADS)
def day() -> Any:
    """Today's plans against what is done, rep by rep, on a map and in a table; for one
    territory or one rep when asked."""
    when = _day()
    chosen = _filters()
    data = day_data(team_day(current_user, when, utcnow(), **chosen), when, utcnow(),
                    current_user)
    points = [(s["lat"], s["lon"]) for s in data["stops"] if s["lat"] is not None]
    parts = render_parts(build_day_map(points, assets=local_assets(), tiles=configured_tiles()))
    page = {"map": parts.handles, "day": data,
            "dataUrl": url_for("teamday.day_json", day=when.isoformat(),
                               territory=chosen["territory_id"], rep=chosen["rep_id"]),
            "refreshSeconds": _refresh_s(),
            "words": {"failed": _("Could not refresh; trying again in a minute."),
                      "updated": _("Updated %(time)s"), "report": _("Daily report"),
                      "noReps": _("No reps in your territories."),
                      "noStops": _("Nothing planned or visited on this day.")}}
    return render_template("teamday/day.html", data=data, parts=parts, page=page,
                           statuses=STATUS_WORDS, when=when, chosen=chosen,
                           territories=day_territories(current_user),
                           team=team_reps(current_user))


@bp.route("/day.json")
@roles_required(*LEADS)
def day_json() -> Any:
    """The same day as JSON, for the page's refresh (no positions in the URL: only a date)."""
    when = _day()
    response = current_app.json.response(day_data(
        team_day(current_user, when, utcnow(), **_filters()), when, utcnow(), current_user))
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- daily reports ---------------------------------------------------------------------------
@bp.route("/reports")
@login_required
def reports_index() -> Any:
    """A rep goes to their own report of the day; leads see their team's reports."""
    when = _day()
    if current_user.role == Role.REP:
        return redirect(url_for("teamday.report", rep_id=current_user.id, day=when.isoformat()))
    return render_template("teamday/reports.html", rows=reports.inbox(current_user, when),
                           when=when)


def _report_page(rep_id: int, when: date, status: int = 200, error: str | None = None,
                 draft: str | None = None) -> Any:
    view = reports.day_report(current_user, rep_id, when)
    return render_template("teamday/report.html", report=view, when=when, error=error,
                           draft=draft, print_view=request.args.get("print") == "1",
                           prev_day=(when - timedelta(days=1)).isoformat(),
                           next_day=(when + timedelta(days=1)).isoformat()), status


@bp.route("/reports/<int:rep_id>/<day>")
@login_required
def report(rep_id: int, day: str) -> Any:
    """One rep's daily report (日報): the day, their comment, the manager's comments."""
    return _report_page(rep_id, need_date(day, "day"))


@bp.route("/reports/<int:rep_id>/<day>", methods=["POST"])
@login_required
@commits
def save_report(rep_id: int, day: str) -> Any:
    """The rep saves their comment, or submits the report."""
    when = need_date(day, "day")
    submit = request.form.get("action") == "submit"
    try:
        reports.save(current_user, rep_id, when, request.form.get("comment"), submit=submit)
    except (ValidationError, ConflictError) as err:
        db.session.rollback()
        return _report_page(rep_id, when, err.status, err.message, request.form.get("comment"))
    flash(_("Daily report submitted.") if submit else _("Daily report saved."), "info")
    return redirect(url_for("teamday.report", rep_id=rep_id, day=when.isoformat()))


@bp.route("/reports/<int:rep_id>/<day>/comments", methods=["POST"])
@login_required
@commits
def comment_report(rep_id: int, day: str) -> Any:
    """A manager's comment on a submitted report (or the rep's answer)."""
    when = need_date(day, "day")
    try:
        reports.comment(current_user, rep_id, when, request.form.get("body"))
    except (ValidationError, ConflictError) as err:
        db.session.rollback()
        return _report_page(rep_id, when, err.status, err.message)
    flash(_("Comment added."), "info")
    return redirect(url_for("teamday.report", rep_id=rep_id, day=when.isoformat()))


@bp.route("/reports/<int:rep_id>/<day>/read", methods=["POST"])
@roles_required(*LEADS)
@commits
def read_report(rep_id: int, day: str) -> Any:
    """The manager marks a submitted report read."""
    when = need_date(day, "day")
    reports.mark_read(current_user, rep_id, when)
    return redirect(url_for("teamday.report", rep_id=rep_id, day=when.isoformat()))


@bp.route("/reports/<int:rep_id>/<day>.csv")
@login_required
def report_csv(rep_id: int, day: str) -> Any:
    """The daily report as CSV."""
    when = need_date(day, "day")
    view = reports.day_report(current_user, rep_id, when)
    return _download(exports.report_csv(view), f"daily-report-{rep_id}-{when.isoformat()}.csv")


# -- mileage ---------------------------------------------------------------------------------
def _month() -> date:
    """``?month=`` as ``2026-11`` (what a month input sends) or any ISO date in it."""
    raw = (request.args.get("month") or "").strip()
    if len(raw) == 7:
        raw += "-01"
    return to_date(raw, "month", default=local_today()) or local_today()


def _mileage() -> tuple[date, date, list[Any]]:
    month = _month()
    first, last = month_bounds(month)
    if current_user.role == Role.REP:
        reps = [current_user]
    else:
        rep_id = to_int(request.args.get("rep"), "rep", default=None)
        reps = [get_rep_or_404(rep_id, current_user)] if rep_id is not None \
            else team_reps(current_user, active_only=False)
    rows = period_mileage(reps, first, last)
    # a rep who has left still has the months they drove (payroll needs them), not the others
    return first, last, [r for r in rows if r.rep.active or r.days]


@bp.route("/mileage")
@login_required
def mileage() -> Any:
    """Business distance per rep, day and month, from the visit sequence."""
    first, last, rows = _mileage()
    return render_template("teamday/mileage.html", rows=rows, first=first, last=last,
                           measured=exports.measured)


@bp.route("/mileage.csv")
@login_required
def mileage_csv() -> Any:
    """The month's mileage as CSV."""
    first, _last, rows = _mileage()
    return _download(exports.mileage_csv(rows), f"mileage-{first.strftime('%Y-%m')}.csv")


def _download(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
