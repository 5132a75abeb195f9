"""The manager's day as plain data for the page and its JSON: words in the reader's language,
times in the company's zone, one shape for the first render and every refresh (the template
and ``team_day.js`` both draw from it, so they cannot disagree).

Positions travel in this body only (the account pins and check-in fixes for the map), never
in a URL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from geocrm.i18n import label, local_date, local_time
from geocrm.models import User
from geocrm.teamday.day import DONE, LATE, MISSED, PLANNED, SKIPPED, RepDay, StopState
from geocrm.teamday.visits import arrived_at, hidden_accounts

STATUS_WORDS: dict[str, Any] = {
    "visited": _l("visited"),
    LATE: _l("late"),
    MISSED: _l("missed"),
    PLANNED: _l("to do"),
    SKIPPED: _l("skipped"),
    "unplanned": _l("unplanned"),
}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
           "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


def _span(start: Any, end: Any) -> str:
    if start is None:
        return ""
    return f"{local_time(start)}–{local_time(end)}" if end and end != start else local_time(start)


def _visit(item: Any) -> dict[str, Any]:
    check = item.verification
    return {
        "arrived": local_time(item.checkin_at or item.occurred_at),
        "left": local_time(item.checkout_at),
        "check": check or "",
        "checkText": label(check) if check else _("no check-in"),
        "outcome": label(item.outcome) if item.outcome else "",
    }


def _account(account: Any, hidden: set[int]) -> dict[str, Any]:
    """The account's name, link and place, unless the reader may not see it."""
    if account.id in hidden:
        return {"account": _("an account outside your territories"), "accountUrl": "",
                "lat": None, "lon": None}
    return {"account": account.name,
            "accountUrl": url_for("accounts.detail", account_id=account.id),
            "lat": account.lat, "lon": account.lon}


def _stop(rep_day: RepDay, state: StopState, hidden: set[int]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "rep": rep_day.rep.id,
        "seq": state.stop.seq,
        **_account(state.stop.account, hidden),
        "planned": _span(state.planned_start, state.planned_end),
        "status": state.status,
        "statusText": str(STATUS_WORDS[state.status]),
        "lateText": _("+%(min)s min", min=state.late_s // 60) if state.status == LATE else "",
    }
    if state.visit is not None:
        row.update(_visit(state.visit))
    return row


def _unplanned(rep_day: RepDay, item: Any, hidden: set[int]) -> dict[str, Any]:
    row = {"rep": rep_day.rep.id, "seq": None, **_account(item.account, hidden), "planned": "",
           "status": "unplanned", "statusText": str(STATUS_WORDS["unplanned"]), "lateText": ""}
    row.update(_visit(item))
    return row


def day_data(days: list[RepDay], day: date, now: Any, viewer: User) -> dict[str, Any]:
    """The whole page's data: a summary row per rep, every stop and unplanned visit (an
    account ``viewer`` may not see is named as such, without its place)."""
    hidden = hidden_accounts(viewer, [s.stop.account_id for d in days for s in d.stops]
                             + [i.account_id for d in days for i in d.unplanned])
    reps, rows = [], []
    for n, rep_day in enumerate(days):
        on_site = rep_day.on_site
        next_stop = rep_day.next_stop
        last = rep_day.last_visit
        reps.append({
            "id": rep_day.rep.id,
            "name": rep_day.rep.name,
            "colour": PALETTE[n % len(PALETTE)],
            "planUrl": url_for("planning.plan", plan_id=rep_day.plan.id) if rep_day.plan else "",
            "reportUrl": url_for("teamday.report", rep_id=rep_day.rep.id, day=day.isoformat()),
            "planned": len(rep_day.stops),
            "planText": (ngettext("%(num)s stop", "%(num)s stops", len(rep_day.stops))
                         if rep_day.plan else _("no plan published")),
            "done": rep_day.count(*DONE),
            "late": rep_day.count(LATE),
            "missed": rep_day.count(MISSED),
            "toDo": rep_day.count(PLANNED),
            "unplanned": len(rep_day.unplanned),
            "lastSeen": local_time(arrived_at(last)) if last else "",
            "now": (_("at %(name)s since %(time)s", name=_account(on_site.account, hidden)[
                "account"],
                      time=local_time(arrived_at(on_site))) if on_site else
                    _("next: %(name)s at %(time)s", name=_account(
                        next_stop.stop.account, hidden)["account"],
                      time=local_time(next_stop.planned_start)) if next_stop else ""),
        })
        rows += [_stop(rep_day, s, hidden) for s in rep_day.stops]
        rows += [_unplanned(rep_day, i, hidden) for i in rep_day.unplanned]
    return {
        "day": day.isoformat(),
        "dayText": local_date(day),
        "updated": local_time(now),
        "reps": reps,
        "stops": rows,
        "totals": {key: sum(r[key] for r in reps)
                   for key in ("planned", "done", "late", "missed", "toDo", "unplanned")},
    }
