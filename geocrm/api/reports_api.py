"""Reports in ``/api/v1`` as JSON (issue 18): the report pages' numbers, scoped to what the
user may see by the same report functions (:mod:`geocrm.crm.reports`).

One path per report (``/reports/visits``, ``/reports/coverage``...) so the document lists
exactly the parameters each takes. The answer is the report's ``columns`` (stable keys, the
CSV's ``?header=keys``), ``rows`` and ``totals`` (or null), plus its title and notes in the
reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Literal

from flask import jsonify
from flask_login import current_user, login_required
from pydantic import Field

from geocrm.api import bp
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.clock import local_today
from geocrm.core.audit import jsonable
from geocrm.crm import reports
from geocrm.crm.report_base import Report
from geocrm.models import User

#: Days a report may ask about: far enough back for any history, never near date's limits.
EARLIEST, LATEST = date(1970, 1, 1), date(2199, 12, 31)


def _day(description: str) -> Any:
    return Field(None, ge=EARLIEST, le=LATEST, description=description)


class RangeQuery(Schema):
    """A period of days (at most a report's range, 400 days); default the last two weeks."""

    start: date | None = _day("first day (default: 13 days before end)")
    end: date | None = _day("last day (default: today)")


class VisitsQuery(RangeQuery):
    group: Literal["day", "week"] = "day"


class AsOfQuery(Schema):
    as_of: date | None = _day("the day the report is as of (default: today)")


class FallingQuery(AsOfQuery):
    window: int = Field(90, ge=7, le=365, description="days in each of the two periods")


class EmptyQuery(Schema):
    """No parameters."""


class ReportOut(Loose):
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    totals: list[Any] | None = None
    notes: list[str] = []


class ReportIndex(Loose):
    items: list[dict[str, str]]


def _cell(value: Any) -> Any:
    """A report value as JSON: ISO dates, decimals as text (exact), anything else as text."""
    value = jsonable(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [_cell(v) for v in value]
    return str(value)


def report_json(report: Report, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": report.key, "title": str(report.title), "params": jsonable(params),
        "columns": list(report.columns),
        "rows": [[_cell(v) for v in row] for row in report.rows],
        "totals": None if report.totals is None else [_cell(v) for v in report.totals],
        "notes": [str(n) for n in report.notes],
    }


def _period(query: RangeQuery) -> tuple[date, date]:
    end = query.end or local_today()
    return query.start or end - timedelta(days=13), end


def _visits(user: User, query: VisitsQuery) -> tuple[Report, dict[str, Any]]:
    start, end = _period(query)
    return (reports.visits_per_rep(user, start, end, group=query.group),
            {"start": start, "end": end, "group": query.group})


def _planned(user: User, query: RangeQuery) -> tuple[Report, dict[str, Any]]:
    start, end = _period(query)
    return reports.planned_vs_done(user, start, end), {"start": start, "end": end}


def _as_of(run: Callable[[User, date], Report]) -> Callable[[User, AsOfQuery],
                                                              tuple[Report, dict[str, Any]]]:
    def report(user: User, query: AsOfQuery) -> tuple[Report, dict[str, Any]]:
        as_of = query.as_of or local_today()
        return run(user, as_of), {"as_of": as_of}
    return report


def _falling(user: User, query: FallingQuery) -> tuple[Report, dict[str, Any]]:
    as_of = query.as_of or local_today()
    return (reports.falling_frequency(user, as_of, window=query.window),
            {"as_of": as_of, "window": query.window})


def _pipeline(user: User, query: EmptyQuery) -> tuple[Report, dict[str, Any]]:
    return reports.pipeline_by_territory(user), {}


#: Each report: its query and how to run it. The keys are the report pages' keys.
RUNS: dict[str, tuple[type[Schema], Callable[[User, Any], tuple[Report, dict[str, Any]]]]] = {
    "visits": (VisitsQuery, _visits),
    "coverage": (AsOfQuery, _as_of(reports.coverage)),
    "overdue": (AsOfQuery, _as_of(reports.overdue_accounts)),
    "falling": (FallingQuery, _falling),
    "planned": (RangeQuery, _planned),
    "pipeline": (EmptyQuery, _pipeline),
}


def _register(key: str) -> None:
    model, run = RUNS[key]

    def view(query: Any) -> Any:
        report, params = run(current_user, query)
        return jsonify(report_json(report, params))

    view.__name__ = f"report_{key}"
    view.__doc__ = (f"The ``{key}`` report as JSON (the report page's numbers), scoped to "
                    "what the user may see.")
    bp.add_url_rule(f"/reports/{key}", endpoint=f"report_{key}",
                    view_func=login_required(api_schema(query=model,
                                                        responses={200: ReportOut})(view)))


for _key in RUNS:
    _register(_key)


@bp.route("/reports")
@login_required
@api_schema(responses={200: ReportIndex})
def report_index() -> Any:
    """The reports there are: ``key`` (the path under ``/reports/``) and title."""
    return jsonify({"items": [{"key": key, "title": str(title)}
                              for key, title in reports.REPORTS.items()]})
