"""Reports: the list, and one report as a page with a chart or as CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template, request
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.crm import reports, segments
from geocrm.crm.charts import bar_chart
from geocrm.crm.views.blueprint import EVERYONE, bp, csv_response, today
from geocrm.errors import NotFoundError
from geocrm.params import arg_date


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
        if request.args.get("header") == "keys":  # a stable header for tools
            lines = segments.csv_text(result.columns, result.csv_rows())
        else:  # for people: the header and the totals label in their language
            rows = list(result.rows) + ([reports.csv_totals(result.totals)]
                                        if result.totals is not None else [])
            lines = segments.csv_text(reports.csv_header(result.columns), rows)
        return csv_response(lines, f"{key}-{now.isoformat()}.csv")
    chart = bar_chart(result.chart[:60], title=result.title, unit=result.chart_unit,
                      max_value=100.0 if result.chart_unit.startswith("%") else None)
    return render_template("crm/report.html", report=result, key=key, params=params,
                           chart=chart, reports=reports.REPORTS, column_names=reports.COLUMNS)
