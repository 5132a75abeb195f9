"""A rep's day as bar segments over the working day (plain numbers for HTML/CSS)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from geocrm.planning.base import LUNCH_SLACK_S, drive_text, hhmm
from geocrm.planning.read import PlanView


@dataclass(frozen=True)
class Segment:
    kind: str  # travel / wait / visit / lunch
    left: float  # percent of the bar
    width: float
    label: str


@dataclass(frozen=True)
class Timeline:
    segments: list[Segment]
    ticks: list[tuple[float, str]]
    start: int
    end: int


def timeline(plan: PlanView) -> Timeline:
    """A rep's day as bar segments over the working day (plain numbers for HTML/CSS)."""
    lo = min(plan.shift[0], plan.day_start)
    hi = max(plan.shift[1], plan.day_end, lo + 3600)
    span = float(hi - lo)

    def seg(kind: str, a: int, b: int, label: str) -> Segment | None:
        a, b = max(lo, a), min(hi, b)
        if b <= a:
            return None
        return Segment(kind, round(100 * (a - lo) / span, 3), round(100 * (b - a) / span, 3),
                       label)

    out: list[Segment | None] = []
    if plan.lunch[0] is not None and plan.lunch[1] > 0:
        out.append(seg("lunch", plan.lunch[0], plan.lunch[0] + LUNCH_SLACK_S + plan.lunch[1],
                       _("lunch window from %(time)s (%(min)s min)", time=hhmm(plan.lunch[0]),
                         min=plan.lunch[1] // 60)))
    last = plan.day_start
    for s in plan.stops:
        if s.arrival is None or s.start is None or s.departure is None:
            continue
        out.append(seg("travel", s.arrival - s.travel_s, s.arrival,
                       _("drive %(time)s to %(name)s", time=drive_text(s.travel_s), name=s.name)))
        out.append(seg("wait", s.arrival, s.start,
                       _("wait %(min)s min at %(name)s", min=s.wait_s // 60, name=s.name)))
        out.append(seg("visit", s.start, s.departure,
                       f"{s.seq}. {s.name} {hhmm(s.start)}–{hhmm(s.departure)}"))
        last = s.departure
    if plan.stops:
        out.append(seg("travel", last, last + plan.return_travel_s,
                       _("drive home %(time)s", time=drive_text(plan.return_travel_s))))
    first_hour = (lo + 3599) // 3600 * 3600
    ticks = [(round(100 * (t - lo) / span, 3), hhmm(t)) for t in range(first_hour, hi + 1, 3600)]
    return Timeline([s for s in out if s is not None], ticks, lo, hi)
