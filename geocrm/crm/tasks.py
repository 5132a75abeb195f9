"""Interactions logged from a desk and the tasks and follow-ups they lead to."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import selectinload

from geocrm.access import get_account_or_404, scope_accounts, team_rep_ids
from geocrm.core import audit
from geocrm.crm.people import assignee_value
from geocrm.crm.segments import CAMPAIGN_OUTCOMES
from geocrm.crm.values import (
    DESK_KINDS,
    OUTCOMES,
    date_value,
    datetime_value,
    enum_value,
    int_value,
    text_value,
)
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import local_date
from geocrm.models import (
    Account,
    Interaction,
    InteractionKind,
    Role,
    Task,
    TaskStatus,
    User,
    utcnow,
)
from geocrm.notify import outbox
from geocrm.webhooks import events as webhooks

# -- interactions logged from a desk ----------------------------------------


def log_interaction(user: User, account_id: int, values: Mapping[str, Any]) -> Interaction:
    """Record a call, email, note, visit or campaign response; optionally its follow-up task.

    ``values``: ``kind``, ``occurred_at`` (default now), ``outcome``, ``notes``,
    ``next_step``, and, to make the next step a task, ``task_due`` (and ``task_assignee``).
    """
    account = get_account_or_404(account_id, user)
    kind = enum_value(values, "kind", InteractionKind, InteractionKind.NOTE)
    if kind not in DESK_KINDS:
        raise ValidationError("kind", _("cannot be logged here"))
    outcome = text_value(values, "outcome", max_len=40)
    allowed = CAMPAIGN_OUTCOMES if kind == InteractionKind.CAMPAIGN_RESPONSE else OUTCOMES
    if outcome is not None and outcome not in allowed:
        raise ValidationError("outcome", _("must be one of %(values)s", values=", ".join(allowed)))
    if kind == InteractionKind.CAMPAIGN_RESPONSE and outcome is None:
        raise ValidationError("outcome", _("is required for a campaign response"))
    notes = text_value(values, "notes")
    next_step = text_value(values, "next_step", max_len=1000)
    at = datetime_value(values, "occurred_at") or utcnow()
    if at > utcnow().replace(microsecond=0) + _FUTURE_SLACK:
        raise ValidationError("occurred_at", _("is in the future"))
    due = date_value(values, "task_due")
    assignee = assignee_value(values, "task_assignee", user, account)
    if due is not None and not next_step:
        raise ValidationError("next_step", _("is required to create a follow-up task"))
    item = Interaction(
        uuid=str(uuidlib.uuid4()),
        user_id=user.id,
        account_id=account.id,
        kind=kind,
        occurred_at=at,
        outcome=outcome,
        notes=notes,
        next_step=next_step,
    )
    db.session.add(item)
    if kind == InteractionKind.VISIT and (account.last_visit_at is None
                                         or account.last_visit_at < at):
        account.last_visit_at = at
    db.session.flush()
    follow_up = _task_from(item, next_step, due, assignee, user) if due and next_step else None
    if follow_up is not None:
        db.session.add(follow_up)
    db.session.flush()
    webhooks.emit_object("interaction.created", item)
    if follow_up is not None:
        webhooks.emit_object("task.created", follow_up)
    return item


def visible_interactions(user: User) -> Select[tuple[Interaction]]:
    """Interactions ``user`` may see: the whole timeline of every account they may see (the
    account page shows it), whoever logged them."""
    return select(Interaction).where(
        Interaction.account_id.in_(scope_accounts(select(Account.id), user)))


def get_interaction_or_404(interaction_id: int, user: User) -> Interaction:
    item = db.session.scalars(
        visible_interactions(user).where(Interaction.id == interaction_id)).one_or_none()
    if item is None:
        raise NotFoundError(f"No interaction {interaction_id}.")
    return item


_FUTURE_SLACK = timedelta(days=1)  # clocks and time zones: a day ahead is a typo, not drift


def _task_from(item: Interaction, title: str, due: date | None, assignee: User,
               user: User) -> Task:
    return Task(
        title=title[:200],
        account_id=item.account_id,
        assignee_id=assignee.id,
        created_by_id=user.id,
        interaction_id=item.id,
        due_date=due,
        notes=f"Next step from the {item.kind.value} of {item.occurred_at.date().isoformat()}",
    )


# -- tasks ----------------------------------------


def visible_tasks(user: User) -> Select[tuple[Task]]:
    """Tasks ``user`` may see: assigned to or created by them, on an account they see, or,
    for a manager, assigned to a rep of their team (the home page counts those)."""
    visible = scope_accounts(select(Account.id), user)
    team = team_rep_ids(user) if user.is_authenticated and user.role == Role.MANAGER else None
    return select(Task).where(
        or_(
            Task.assignee_id == user.id,
            Task.created_by_id == user.id,
            Task.account_id.in_(visible) if user.is_authenticated else false(),
            Task.assignee_id.in_(team) if team is not None else false(),
        )
    )


def get_task_or_404(task_id: int, user: User) -> Task:
    task = db.session.scalars(visible_tasks(user).where(Task.id == task_id)).one_or_none()
    if task is None:
        raise NotFoundError(_("No task %(id)s.", id=task_id))
    return task


def create_task(user: User, values: Mapping[str, Any]) -> Task:
    """A task on an account the user may see (or a personal one without an account)."""
    account_id = int_value(values, "account_id")
    account = get_account_or_404(account_id, user) if account_id is not None else None
    title = text_value(values, "title", required=True, max_len=200)
    assignee = assignee_value(values, "assignee_id", user, account)
    task = Task(
        title=title,
        notes=text_value(values, "notes"),
        account_id=account.id if account else None,
        assignee_id=assignee.id,
        created_by_id=user.id,
        due_date=date_value(values, "due_date"),
    )
    db.session.add(task)
    db.session.flush()
    audit.record(user, "task", task.id, "create",
                 audit.snapshot(task, ("title", "account_id", "assignee_id", "due_date")))
    db.session.flush()
    if assignee.id != user.id:
        tell_assignee(task, assignee, user)
    webhooks.emit_object("task.created", task)
    return task


def tell_assignee(task: Task, assignee: User, by: User) -> None:
    """Queue "a task is assigned to you" (sent later by a job; nothing when self-assigned)."""

    def render() -> tuple[str, str]:
        lines = [_("%(who)s assigned you a task: %(title)s", who=by.name, title=task.title)]
        if task.account is not None:
            lines.append(_("Account: %(name)s", name=task.account.name))
        if task.due_date is not None:
            lines.append(_("Due: %(date)s", date=local_date(task.due_date)))
        return _("New task: %(title)s", title=task.title), "\n".join(lines)

    outbox.queue(assignee, "task_assigned", render, url="/crm/tasks")


def task_from_next_step(user: User, interaction_id: int, values: Mapping[str, Any]) -> Task:
    """Turn an interaction's "next step" into a follow-up task (once per interaction)."""
    item = db.session.get(Interaction, interaction_id)
    if item is None:
        raise NotFoundError(f"No interaction {interaction_id}.")
    account = get_account_or_404(item.account_id, user)
    if not item.next_step:
        raise ValidationError("next_step", _("this interaction has no next step"))
    existing = db.session.scalar(select(Task.id).where(Task.interaction_id == item.id))
    if existing is not None:
        raise ConflictError(_("That next step is already a task."), field="interaction_id")
    title = text_value(values, "title", max_len=200) or item.next_step
    task = _task_from(item, title, date_value(values, "due_date"),
                      assignee_value(values, "assignee_id", user, account), user)
    db.session.add(task)
    db.session.flush()
    audit.record(user, "task", task.id, "create",
                 {"interaction_id": item.id, "title": task.title,
                  "due_date": audit.jsonable(task.due_date)})
    db.session.flush()
    webhooks.emit_object("task.created", task)
    return task


def update_task(user: User, task_id: int, values: Mapping[str, Any]) -> Task:
    """Change a task's status, due date or assignee; audited field by field."""
    task = get_task_or_404(task_id, user)
    account = db.session.get(Account, task.account_id) if task.account_id else None
    before = audit.snapshot(task, _TASK_FIELDS)
    if "status" in values:
        status = enum_value(values, "status", TaskStatus)
        if status != task.status:
            task.status = status
            task.completed_at = utcnow() if status == TaskStatus.DONE else None
    if "due_date" in values:
        task.due_date = date_value(values, "due_date")
    if "assignee_id" in values:
        task.assignee_id = assignee_value(values, "assignee_id", user, account).id
    if "title" in values:
        task.title = text_value(values, "title", required=True, max_len=200)
    audit.record_changes(user, "task", task.id, before, audit.snapshot(task, _TASK_FIELDS))
    db.session.flush()
    webhooks.emit_object("task.updated", task)
    return task


_TASK_FIELDS = ("title", "status", "due_date", "assignee_id")


@dataclass
class HomeTasks:
    due_today: list[Task]
    overdue: list[Task]
    upcoming: list[Task]
    #: the counts, which the lists may stop short of (``limit``)
    due_today_count: int = 0
    overdue_count: int = 0
    #: a manager's home counts their team's tasks (their reps' and their own)
    team: bool = False


def home_tasks(user: User, today: date, *, limit: int = 50) -> HomeTasks:
    """Open tasks due today, overdue (oldest first), and the next ones: the user's own, and
    for a manager their team's too (the reps of the territories they manage,
    :func:`geocrm.access.team_rep_ids`): most overdue tasks are the reps', and a manager's
    home showing "0 overdue" while the team has dozens hides exactly what they are there for."""
    team = user.role == Role.MANAGER
    whose = Task.assignee_id == user.id
    if team:
        reps = team_rep_ids(user)
        assert reps is not None
        whose = or_(whose, Task.assignee_id.in_(reps))
    mine = (
        select(Task)
        .options(selectinload(Task.account), selectinload(Task.assignee))
        .where(whose, Task.status == TaskStatus.OPEN)
    )
    due_today = db.session.scalars(
        mine.where(Task.due_date == today).order_by(Task.id).limit(limit)).all()
    overdue = db.session.scalars(
        mine.where(Task.due_date < today).order_by(Task.due_date, Task.id).limit(limit)
    ).all()
    upcoming = db.session.scalars(
        mine.where(or_(Task.due_date > today, Task.due_date.is_(None)))
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        .limit(10)
    ).all()
    count = select(func.count(Task.id)).where(whose, Task.status == TaskStatus.OPEN)
    return HomeTasks(
        list(due_today), list(overdue), list(upcoming),
        due_today_count=db.session.scalar(count.where(Task.due_date == today)) or 0,
        overdue_count=db.session.scalar(count.where(Task.due_date < today)) or 0,
        team=team,
    )


def task_list(user: User, *, view: str, today: date, limit: int = 500) -> list[Task]:
    """The task page: ``mine`` (open, assigned to me), ``overdue``, ``today`` or ``team``
    (open tasks on every account I may see, for managers)."""
    base = visible_tasks(user).options(selectinload(Task.account), selectinload(Task.assignee))
    base = base.where(Task.status == TaskStatus.OPEN)
    if view == "team":
        stmt = base
    elif view == "overdue":
        stmt = base.where(Task.assignee_id == user.id, Task.due_date < today)
    elif view == "today":
        stmt = base.where(Task.assignee_id == user.id, Task.due_date == today)
    elif view == "mine":
        stmt = base.where(Task.assignee_id == user.id)
    else:
        raise ValidationError("view", _("must be mine, today, overdue or team"))
    stmt = stmt.order_by(Task.due_date.is_(None), Task.due_date, Task.id).limit(limit)
    return list(db.session.scalars(stmt))
