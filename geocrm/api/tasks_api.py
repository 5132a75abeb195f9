"""Tasks in ``/api/v1`` (issue 18): the list with cursor, filters and ``updated_since``, one
task with its entity tag, and edits through the task page's rule (``PATCH``, 412 on a stale
``If-Match``).

Creating a task (``POST /tasks``, exactly once by its ``uuid``) and marking one done
(``POST /tasks/{id}/done``) stay the field app's, in :mod:`geocrm.api.field`. Who sees a task
is :func:`geocrm.crm.tasks.visible_tasks`, the rule the task page uses; the edit fires the
page's ``task.updated`` webhook. A task is cancelled (``status``), never deleted.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from flask_login import current_user, login_required
from pydantic import Field
from sqlalchemy import Select

from geocrm.api import bp
from geocrm.api.object_lists import (
    NO_NUL,
    DbId,
    PageQuery,
    SortKey,
    changed_since,
    check_unchanged,
    etag_answer,
    iso,
    keyset_page,
    page_json,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.core.transaction import commits
from geocrm.crm import services
from geocrm.extensions import db
from geocrm.field.sync import task_json as field_task_json
from geocrm.models import Task, TaskStatus, User

SORTS = ("id", "-id", "updated_at", "-updated_at")
KEYS = {"id": SortKey(Task.id), "updated_at": SortKey(Task.updated_at, "time")}


def task_json(t: Task) -> dict[str, Any]:
    """The field app's task plus who and when (what an integration needs to sync it)."""
    return {**field_task_json(t), "assignee_id": t.assignee_id, "created_by_id": t.created_by_id,
            "interaction_id": t.interaction_id, "completed_at": iso(t.completed_at),
            "created_at": iso(t.created_at), "updated_at": iso(t.updated_at)}


class TaskListQuery(PageQuery):
    """Filters, order and place of a page of tasks."""

    status: list[TaskStatus] = Field(default_factory=list)
    mine: bool = Field(False, description="only the tasks assigned to me")
    assignee: list[DbId] = Field(default_factory=list)
    account: list[DbId] = Field(default_factory=list)
    due_from: date | None = Field(None, description="due on or after this day")
    due_to: date | None = Field(None, description="due on or before this day")
    sort: Literal[SORTS] = "id"  # type: ignore[valid-type]


class TaskOut(Loose):
    id: int
    title: str
    status: TaskStatus
    account_id: int | None = None
    assignee_id: int | None = None
    due_date: str | None = None
    updated_at: str


class TaskPage(Loose):
    total: int
    items: list[TaskOut]
    next_cursor: str | None = Field(description="null on the last page")


class TaskEdit(Schema):
    """What the task page may change: status (done, cancelled, reopened), due date, assignee
    (someone who can see the account), title."""

    status: TaskStatus | None = None
    due_date: date | None = None
    assignee_id: DbId | None = None
    title: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)


def filtered_tasks(user: User, query: TaskListQuery) -> Select[tuple[Task]]:
    """The user's visible tasks (the task page's rule) narrowed by the query's filters."""
    stmt = services.visible_tasks(user)
    if query.status:
        stmt = stmt.where(Task.status.in_(query.status))
    if query.mine:
        stmt = stmt.where(Task.assignee_id == user.id)
    if query.assignee:
        stmt = stmt.where(Task.assignee_id.in_(query.assignee))
    if query.account:
        stmt = stmt.where(Task.account_id.in_(query.account))
    if query.due_from is not None:
        stmt = stmt.where(Task.due_date >= query.due_from)
    if query.due_to is not None:
        stmt = stmt.where(Task.due_date <= query.due_to)
    return changed_since(stmt, Task.updated_at, query.updated_since)


@bp.route("/tasks")
@login_required
@api_schema(query=TaskListQuery, responses={200: TaskPage})
def tasks(query: TaskListQuery) -> Any:
    """A page of the tasks the user may see (keyset ``cursor``); ``mine`` and
    ``status=open`` give the user's own open ones."""
    rows, next_cursor, total = keyset_page(
        filtered_tasks(current_user, query), sort=query.sort, keys=KEYS, id_column=Task.id,
        cursor=query.cursor, limit=query.limit)
    return page_json(rows, task_json, next_cursor, total)


@bp.route("/tasks/<int:task_id>")
@login_required
@api_schema(responses={200: TaskOut}, headers={200: {"ETag": "the task's entity tag"}})
def task(task_id: int) -> Any:
    """One task (``ETag``: its content)."""
    return etag_answer(task_json(services.get_task_or_404(task_id, current_user)))


@bp.route("/tasks/<int:task_id>", methods=["PATCH"])
@login_required
@commits
@api_schema(body=TaskEdit, responses={200: TaskOut}, errors=(412,),
            headers={200: {"ETag": "the task's new entity tag"}})
def patch_task(task_id: int, body: TaskEdit) -> Any:
    """Change a task's status, due date, assignee or title (the task page's rule and
    webhook); 412 on a stale ``If-Match``."""
    current = services.get_task_or_404(task_id, current_user)
    db.session.refresh(current, with_for_update=True)  # the version checked is the one written
    check_unchanged(task_json(current))
    values = body.model_dump(mode="json", exclude_unset=True)
    return etag_answer(task_json(services.update_task(current_user, task_id, values)))
