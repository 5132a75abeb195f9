"""The daily report (日報 / 영업일지): a rep's day as it happened, their comment, submission,
and the manager's comments.

The day is read from the interactions each time (:mod:`geocrm.teamday.visits`), so a visit
that syncs after the rep submitted still shows, marked as such; only what people write is
stored (:class:`geocrm.models.daily.DailyReport`). A rep reads and writes only their own
report; managers the reports of their team, planners and admins everyone's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from geocrm.clock import local_today, local_zone
from geocrm.errors import ConflictError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import METRES_PER_MILE, distance_unit, local_date
from geocrm.models import Interaction, InteractionKind, Role, User, utcnow
from geocrm.models.daily import DailyReport, DailyReportComment
from geocrm.notify import outbox
from geocrm.params import to_text
from geocrm.teamday.day import RepDay, compare, published_plans
from geocrm.teamday.mileage import DayDistance, rep_distances, visit_place
from geocrm.teamday.visits import (
    arrived_at,
    day_interactions,
    day_visits,
    get_rep_or_404,
    hidden_accounts,
    managers_of,
    team_reps,
)

DRAFT, SUBMITTED = "draft", "submitted"
MAX_COMMENT = 4000


@dataclass
class ReportLine:
    """One interaction of the day; for a visit, the drive that led to it."""

    item: Interaction
    drive_m: int | None = None
    #: synced after the report was submitted (the rep did not see it when submitting)
    late_sync: bool = False


@dataclass
class DayReport:
    """Everything the report page, its print view and its CSV show."""

    rep: User
    day: date
    record: DailyReport | None
    lines: list[ReportLine] = field(default_factory=list)
    distance: DayDistance | None = None
    #: the day's published plan against what was done (the manager's day's reading)
    plan: RepDay | None = None
    #: accounts of the day the reader may not see (another manager's territory): unnamed
    hidden: set[int] = field(default_factory=set)

    def account_name(self, item: Interaction) -> str:
        """The account's name, or that the reader may not see it."""
        if item.account_id in self.hidden or item.account is None:
            return _("an account outside your territories")
        return str(item.account.name)

    @property
    def status(self) -> str:
        return self.record.status if self.record is not None else DRAFT

    @property
    def submitted(self) -> bool:
        return self.status == SUBMITTED

    @property
    def visits(self) -> list[Interaction]:
        return [ln.item for ln in self.lines if ln.item.kind == InteractionKind.VISIT]

    @property
    def first_checkin(self) -> datetime | None:
        times = [v.checkin_at for v in self.visits if v.checkin_at]
        return min(times) if times else None

    @property
    def last_checkout(self) -> datetime | None:
        times = [v.checkout_at for v in self.visits if v.checkout_at]
        return max(times) if times else None

    @property
    def metres(self) -> int:
        return self.distance.metres if self.distance else 0


def find(rep_id: int, day: date) -> DailyReport | None:
    return db.session.scalars(select(DailyReport).where(
        DailyReport.rep_id == rep_id, DailyReport.report_date == day)).one_or_none()


def day_report(user: User, rep_id: int, day: date) -> DayReport:
    """The report of ``rep_id`` on ``day`` as ``user`` may read it (a 404 outside scope)."""
    rep = get_rep_or_404(rep_id, user)
    record = find(rep.id, day)
    items = day_interactions(rep.id, day)
    visits = [i for i in items if i.kind == InteractionKind.VISIT]
    distance = rep_distances(rep, {day: visits})[day] if visits else None
    drives: dict[int, int] = {}
    if distance is not None:
        # the legs run home → visit → ... → home: leg k ends at the k-th placed visit
        placed = [v for v in visits if _placed(v)]
        offset = 1 if distance.from_home else 0
        for k, visit in enumerate(placed):
            leg = k - 1 + offset
            if 0 <= leg < len(distance.legs):
                drives[visit.id] = distance.legs[leg].metres
    plan = published_plans([rep.id], day).get(rep.id)
    versus = compare(rep, plan, visits, utcnow()) if plan is not None else None
    submitted_at = record.submitted_at if record is not None else None
    lines = [ReportLine(i, drives.get(i.id), bool(submitted_at and i.created_at > submitted_at))
             for i in sorted(items, key=lambda i: (arrived_at(i), i.id))]
    hidden = hidden_accounts(user, {i.account_id for i in items})
    return DayReport(rep, day, record, lines, distance, versus, hidden)


def _placed(visit: Interaction) -> bool:
    good = float(current_app.config.get("GEOCRM_CHECKIN_MAX_ACCURACY_M", 100))
    return visit_place(visit, good) is not None


def _own(user: User, rep_id: int, day: date) -> DailyReport:
    if user.id != rep_id or user.role != Role.REP:
        get_rep_or_404(rep_id, user)  # a 404 outside scope, before saying why not
        raise ConflictError(_("Only the rep writes their own daily report."))
    record = find(rep_id, day)
    if record is None:
        record = DailyReport(rep_id=rep_id, report_date=day, status=DRAFT)
        db.session.add(record)
    return record


def save(user: User, rep_id: int, day: date, comment: str | None, *,
         submit: bool) -> DailyReport:
    """The rep keeps their comment (a draft) or submits the report; a submitted report is
    final (the manager has it): a 409. Flushes."""
    text = to_text(comment, "comment", max_len=MAX_COMMENT)
    if day > local_today():
        raise ValidationError("day", _("is in the future"))
    record = _own(user, rep_id, day)
    if record.status == SUBMITTED:
        raise ConflictError(_("This daily report is already submitted."))
    record.comment = text
    if submit:
        record.status = SUBMITTED
        record.submitted_at = utcnow()
        db.session.flush()
        for manager in managers_of(user):
            _tell(manager, user, day, lambda: (
                _("Daily report from %(name)s, %(date)s", name=user.name, date=local_date(day)),
                text or _("No comment.")))
    db.session.flush()
    return record


def comment(user: User, rep_id: int, day: date, body: str | None) -> DailyReportComment:
    """A manager's comment on a submitted report (or the rep's answer); reading it by
    commenting marks it read. Flushes."""
    text = to_text(body, "body", required=True, max_len=MAX_COMMENT)
    assert text is not None
    rep = get_rep_or_404(rep_id, user)
    record = find(rep.id, day)
    if record is None or record.status != SUBMITTED:
        raise ConflictError(_("The daily report is not submitted yet."))
    note = DailyReportComment(report_id=record.id, author_id=user.id, body=text)
    db.session.add(note)
    if user.id != rep.id:
        _read(record, user)
    db.session.flush()
    told = [rep] if user.id != rep.id else managers_of(rep)
    for person in told:
        _tell(person, rep, day, lambda: (
            _("%(name)s commented on the daily report of %(date)s", name=user.name,
              date=local_date(day)), text))
    return note


def _tell(person: User, rep: User, day: date, render: Callable[[], tuple[str, str]]) -> None:
    """Queue a daily-report message (sent later by the notification job)."""
    outbox.queue(person, "daily_report", render,
                 url=f"/team/reports/{rep.id}/{day.isoformat()}")


def mark_read(user: User, rep_id: int, day: date) -> DailyReport:
    """The manager has read the submitted report (once; the first reader is kept)."""
    rep = get_rep_or_404(rep_id, user)
    record = find(rep.id, day)
    if record is None or record.status != SUBMITTED:
        raise ConflictError(_("The daily report is not submitted yet."))
    if user.id == rep.id:
        raise ConflictError(_("A rep does not mark their own report read."))
    _read(record, user)
    db.session.flush()
    return record


def _read(record: DailyReport, user: User) -> None:
    if record.read_at is None:
        record.read_at = utcnow()
        record.read_by_id = user.id


@dataclass
class InboxRow:
    rep: User
    record: DailyReport | None
    visits: int


def inbox(user: User, day: date) -> list[InboxRow]:
    """Each rep ``user`` follows and their report's state on ``day`` (none, draft,
    submitted, read), with the day's visit count."""
    reps = team_reps(user)
    records = {r.rep_id: r for r in db.session.scalars(select(DailyReport).where(
        DailyReport.report_date == day, DailyReport.rep_id.in_([r.id for r in reps])))}
    visits = day_visits([r.id for r in reps], day)
    return [InboxRow(r, records.get(r.id), len(visits.get(r.id, []))) for r in reps]


def in_unit(metres: float | int | None) -> float | None:
    """Metres in the company's distance unit (km or mi), one decimal, for CSV cells."""
    if metres is None:
        return None
    per = METRES_PER_MILE if distance_unit() == "mi" else 1000.0
    return round(float(metres) / per, 1)


def local_hhmm(value: datetime | None) -> str:
    """A stored naive-UTC moment as HH:MM in the company's zone (for CSV cells)."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(local_zone()).strftime("%H:%M")
