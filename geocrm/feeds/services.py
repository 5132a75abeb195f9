"""Calendar feeds: what a person's calendar app sees, and who may see it.

A subscription URL carries a 256-bit token (the database keeps its SHA-256), because Google,
Apple and Outlook calendars fetch it unattended and cannot sign in. It shows its owner's
*published* visits from a month back to three months ahead and their open tasks with a due
date, as all-day events (Google Calendar ignores VTODO). Calendar apps re-fetch on their own
schedule (Google every few hours), so what changes in GeoCRM reaches them then; events keep
stable UIDs, so a moved visit moves rather than doubles.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from geocrm.clock import local_today, local_zone
from geocrm.crm.tasks import get_task_or_404
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.i18n import default_locale
from geocrm.models import CalendarFeed, PlanStatus, RoutePlan, Task, TaskStatus, User, utcnow
from geocrm.planning import exports
from geocrm.planning.read import plan_page_view
from geocrm.planning.scope import get_plan_or_404

DAYS_BACK = 31
DAYS_AHEAD = 92


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed(user: User) -> str:
    """A new subscription token for ``user``; the old link stops working. Flushes."""
    revoke(user)
    token = secrets.token_urlsafe(32)
    db.session.add(CalendarFeed(user_id=user.id, token_hash=_hash(token)))
    db.session.flush()
    return token


def revoke(user: User) -> int:
    """End ``user``'s subscription link (calendars subscribed to it stop updating)."""
    result = db.session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def has_feed(user: User) -> CalendarFeed | None:
    return db.session.scalars(
        select(CalendarFeed).where(CalendarFeed.user_id == user.id,
                                   CalendarFeed.revoked_at.is_(None))
    ).first()


def owner_of(token: str) -> User:
    """The active owner of a live feed token (404 for anything else)."""
    feed = db.session.scalars(
        select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token or ""))
    ).one_or_none()
    user = db.session.get(User, feed.user_id) if feed is not None else None
    if feed is None or feed.revoked_at is not None or user is None or not user.active:
        raise NotFoundError(_("No such calendar."))
    return user


def _stamp(now: datetime | None) -> str:
    return exports.ics_stamp(now or datetime.now(UTC).replace(tzinfo=None))


def task_event(task: Task, *, domain: str, stamp: str) -> list[str]:
    """An all-day event on the task's due date (its title, account and notes)."""
    due: date = task.due_date or local_today()
    summary = _("Task: %(title)s", title=task.title)
    details = [task.account.name] if task.account is not None else []
    if task.notes:
        details.append(task.notes)
    return [
        "BEGIN:VEVENT",
        f"UID:geocrm-task{task.id}@{domain}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{due:%Y%m%d}",
        f"DTEND;VALUE=DATE:{due + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{exports.ics_escape(summary)}",
        f"DESCRIPTION:{exports.ics_escape(chr(10).join(details))}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def _published_plans(user: User, today: date) -> Sequence[RoutePlan]:
    return list(db.session.scalars(
        select(RoutePlan).where(
            RoutePlan.rep_id == user.id, RoutePlan.status == PlanStatus.PUBLISHED,
            RoutePlan.plan_date >= today - timedelta(days=DAYS_BACK),
            RoutePlan.plan_date <= today + timedelta(days=DAYS_AHEAD),
        ).order_by(RoutePlan.plan_date)
    ))


def _open_tasks(user: User) -> Sequence[Task]:
    return list(db.session.scalars(
        select(Task).where(Task.assignee_id == user.id, Task.status == TaskStatus.OPEN,
                           Task.due_date.is_not(None)).order_by(Task.due_date, Task.id)
    ))


def feed_ics(user: User, *, domain: str, now: datetime | None = None) -> str:
    """The whole subscription: published visits and open tasks, in the owner's language."""
    stamp = _stamp(now)
    tz = local_zone()
    with force_locale(user.locale or default_locale()):
        events: list[str] = []
        for plan in _published_plans(user, local_today(now)):
            events += exports.stop_events(plan_page_view(plan), tz, domain=domain, stamp=stamp)
        for task in _open_tasks(user):
            events += task_event(task, domain=domain, stamp=stamp)
        name = _("GeoCRM — %(name)s", name=user.name)
    # Calendar apps re-fetch on their own; this asks those that listen to do it hourly.
    return exports.calendar_text(events, name, extra=(
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H"))


def single_task_ics(task_id: int, user: User, *, domain: str) -> tuple[Task, str]:
    """One task the user may see, as a calendar file."""
    task = get_task_or_404(task_id, user)
    if task.due_date is None:
        raise NotFoundError(_("This task has no due date."))
    events = task_event(task, domain=domain, stamp=_stamp(None))
    return task, exports.calendar_text(events, task.title)


def single_visit_ics(plan_id: int, stop_id: int, user: User, *, domain: str) -> str:
    """One planned visit of a plan the user may see, as a calendar file."""
    plan = get_plan_or_404(plan_id, user)
    view = plan_page_view(plan)
    view = replace(view, stops=[s for s in view.stops if s.id == stop_id])
    if not view.stops:
        raise NotFoundError(_("No such visit in this plan."))
    events = exports.stop_events(view, local_zone(), domain=domain, stamp=_stamp(None))
    return exports.calendar_text(events, view.stops[0].name)
