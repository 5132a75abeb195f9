"""The daily report and mileage as CSV, through the one safe writer (:mod:`geocrm.csvout`).

Headers are in the reader's language (a Korean or Japanese manager opens these in a
spreadsheet), the file starts with a byte-order mark so Excel reads UTF-8, times are the
company's local HH:MM, distances are in the company's unit (km or mi) as plain numbers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from flask_babel import gettext as _

from geocrm.csvout import SafeWriter
from geocrm.i18n import distance_unit, label
from geocrm.models import Interaction
from geocrm.teamday.mileage import RepMileage
from geocrm.teamday.reports import DayReport, in_unit, local_hhmm

BOM = "\ufeff"


def _unit_header(text: str) -> str:
    return f"{text} ({distance_unit()})"


def report_csv(report: DayReport) -> str:
    """One row per interaction of the day, then the day's totals and the rep's comment."""
    out = io.StringIO()
    out.write(BOM)
    w = SafeWriter(out)
    w.writerow([_("Rep"), _("Date"), _("Check-in"), _("Check-out"), _("Account"), _("Kind"),
                _("Outcome"), _("Check-in status"), _unit_header(_("Drive to here")),
                _("Notes"), _("Next step")])
    for line in report.lines:
        item = line.item
        w.writerow([report.rep.name, report.day.isoformat(),
                    local_hhmm(item.checkin_at or item.occurred_at), local_hhmm(item.checkout_at),
                    report.account_name(item), label(item.kind),
                    label(item.outcome) if item.outcome else "",
                    label(item.verification) if item.verification else "",
                    in_unit(line.drive_m), *_notes(report, item)])
    w.writerow([])
    w.writerow([_("Distance driven"), in_unit(report.metres), distance_unit(),
                _("straight-line estimate") if report.distance and report.distance.estimate
                else ""])
    w.writerow([_("Comment"), report.record.comment if report.record else ""])
    return out.getvalue()


def _notes(report: DayReport, item: Interaction) -> list[str]:
    if item.account_id in report.hidden:
        return ["", ""]
    return [item.notes or "", item.next_step or ""]


def mileage_csv(rows: Sequence[RepMileage]) -> str:
    """One row per rep and day with visits, then each rep's total for the period."""
    out = io.StringIO()
    out.write(BOM)
    w = SafeWriter(out)
    w.writerow([_("Rep"), _("Date"), _("Visits"), _unit_header(_("Business distance")),
                _("Measured")])
    for rep in rows:
        for day in rep.days:
            w.writerow([rep.rep.name, day.day.isoformat(), day.visits, in_unit(day.metres),
                        measured(day.estimate, day.from_home)])
        w.writerow([rep.rep.name, _("Total"), rep.visits, in_unit(rep.metres), ""])
    return out.getvalue()


def measured(estimate: bool, from_home: bool) -> str:
    """How a day's distance was measured, in words."""
    how = _("straight-line estimate") if estimate else _("along the roads")
    return how if from_home else _("%(how)s, first to last visit (no home base)", how=how)
