"""The daily digest: one message a morning with what a person's day holds.

Today's published route, tasks due today and overdue, and the accounts in their territories
that drifted past their visit cadence, written in the person's language. Queued for everyone
who chose it by ``flask notify digest`` (run it from cron early in the morning) and sent by the
notification job; a person with nothing to read gets nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import click
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from geocrm.clock import local_today, local_zone
from geocrm.core.transaction import transaction
from geocrm.crm.reports import overdue_accounts
from geocrm.crm.tasks import visible_tasks
from geocrm.extensions import db
from geocrm.i18n import local_date, local_time
from geocrm.models import (
    Notification,
    PlanStatus,
    Role,
    RoutePlan,
    Task,
    TaskStatus,
    User,
)
from geocrm.notify import dispatch, outbox

SHOWN = 5  # lines per section; the rest is a count and a link


def _tasks(user: User, today: date) -> tuple[list[Task], list[Task]]:
    """(due today, overdue): a rep's own; a manager's or planner's team's too."""
    query = visible_tasks(user) if user.role in (Role.MANAGER, Role.ADMIN) else \
        select(Task).where(Task.assignee_id == user.id)
    query = query.where(Task.status == TaskStatus.OPEN, Task.due_date.is_not(None),
                        Task.due_date <= today).order_by(Task.due_date, Task.id)
    found = list(db.session.scalars(query))
    return ([t for t in found if t.due_date == today],
            [t for t in found if t.due_date is not None and t.due_date < today])


def digest_text(user: User, today: date) -> tuple[str, str] | None:
    """(subject, body) of ``user``'s digest for ``today``, or None when there is nothing."""
    plan = db.session.scalars(select(RoutePlan).where(
        RoutePlan.rep_id == user.id, RoutePlan.plan_date == today,
        RoutePlan.status == PlanStatus.PUBLISHED)).first()
    due, overdue = _tasks(user, today)
    drift = overdue_accounts(user, today, limit=SHOWN) if user.role != Role.PLANNER else None
    drift_total = int(drift.extra["total"]) if drift is not None else 0
    if plan is None and not due and not overdue and not drift_total:
        return None
    lines: list[str] = []
    if plan is not None:
        stops = sorted(plan.stops, key=lambda s: s.seq)
        lines.append(ngettext("Today's route: %(num)d visit", "Today's route: %(num)d visits",
                              len(stops)))
        for s in stops[:SHOWN * 3]:
            when = local_time(s.start or s.arrival)
            lines.append(f"  {s.seq}. {when} {s.account.name}".rstrip())
        lines.append("")
    for title, tasks in ((_("Tasks due today"), due), (_("Overdue tasks"), overdue)):
        if tasks:
            lines.append(f"{title} ({len(tasks)})")
            for t in tasks[:SHOWN]:
                where = f" — {t.account.name}" if t.account is not None else ""
                lines.append(f"  • {t.title}{where} ({local_date(t.due_date)})")
            if len(tasks) > SHOWN:
                lines.append("  " + _("and %(num)d more", num=len(tasks) - SHOWN))
            lines.append("")
    if drift is not None and drift_total:
        lines.append(ngettext("%(num)d account is overdue for a visit",
                              "%(num)d accounts are overdue for a visit", drift_total))
        for row in drift.rows[:SHOWN]:
            lines.append(f"  • {row[1]} ({row[2]})")
        lines.append("")
    subject = _("GeoCRM: your day, %(date)s", date=local_date(today))
    return subject, "\n".join(lines).rstrip()


def queue_digests(today: date | None = None) -> int:
    """Queue today's digest for everyone who wants one (once a day). Flushes; returns how
    many were queued."""
    today = today or local_today()
    queued = 0
    for user in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
        if not outbox.choices(user).get("digest"):
            continue
        already = db.session.scalar(select(Notification.id).where(
            Notification.user_id == user.id, Notification.kind == "digest",
            Notification.created_at >= _midnight_utc(today)).limit(1))
        if already is not None:
            continue

        def render(user: User = user) -> tuple[str, str]:
            text = digest_text(user, today)
            return text if text is not None else ("", "")

        rows = outbox.queue(user, "digest", render, url="/home")
        empty = [r for r in rows if not r.body]
        for r in empty:  # nothing to say today: drop it rather than send an empty mail
            db.session.delete(r)
        queued += 1 if len(empty) < len(rows) else 0
    db.session.flush()
    return queued


def _midnight_utc(day: date) -> datetime:
    """The start of ``day`` in the company's zone, as the naive UTC the columns hold."""
    return datetime.combine(day, time(), tzinfo=local_zone()).astimezone(UTC).replace(
        tzinfo=None)


@click.command("digest")
def digest_command() -> None:
    """Queue today's digest for everyone who wants it, then send (cron: each morning)."""
    with transaction():
        queued = queue_digests()
    with transaction():
        counts = dispatch.send_due()
    click.echo(f"queued {queued} digests; sent {counts['sent']}, to retry {counts['retry']}")
