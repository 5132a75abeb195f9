"""The account 360 page's actions (log an interaction, add a task or a deal, set a
custom field, move the pin to a check-in) and the task list; the page itself is
``accounts.detail``.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.core.transaction import commits
from geocrm.crm import services
from geocrm.crm.views.blueprint import EVERYONE, back, bp, flash_error, today
from geocrm.errors import ConflictError, ValidationError


@bp.route("/accounts/<int:account_id>/interactions", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def log_interaction(account_id: int) -> Any:
    """Log a call, email, note, visit or campaign response from the 360 page."""
    try:
        services.log_interaction(current_user, account_id, request.form)
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Logged."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#timeline")


@bp.route("/accounts/<int:account_id>/tasks", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def create_task(account_id: int) -> Any:
    """Add a task on the account."""
    try:
        services.create_task(current_user, {**request.form.to_dict(), "account_id": account_id})
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Task added."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#tasks")


@bp.route("/interactions/<int:interaction_id>/task", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def task_from_next_step(interaction_id: int) -> Any:
    """Make an interaction's next step a follow-up task."""
    try:
        task = services.task_from_next_step(current_user, interaction_id, request.form)
    except (ValidationError, ConflictError) as err:
        flash_error(err)
        return redirect(back(url_for("crm.tasks")))
    flash(_("Follow-up task created."), "info")
    return redirect(back(url_for("accounts.detail", account_id=task.account_id) + "#tasks"))


@bp.route("/tasks/<int:task_id>", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def update_task(task_id: int) -> Any:
    """Mark a task done, cancel or reopen it, or change its due date or assignee."""
    try:
        services.update_task(current_user, task_id, request.form)
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Task updated."), "info")
    return redirect(back(url_for("crm.tasks")))


@bp.route("/tasks")
@roles_required(*EVERYONE)
def tasks() -> Any:
    """My open tasks (or today's, the overdue ones, or the team's)."""
    view = request.args.get("view", "mine")
    rows = services.task_list(current_user, view=view, today=today())
    return render_template("crm/tasks.html", tasks=rows, view=view, today=today())


@bp.route("/accounts/<int:account_id>/opportunities", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def create_opportunity(account_id: int) -> Any:
    """Open a deal on the account."""
    try:
        services.create_opportunity(current_user, account_id, request.form)
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Opportunity added."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#opportunities")


@bp.route("/opportunities/<int:opportunity_id>", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def update_opportunity(opportunity_id: int) -> Any:
    """Move a deal to another stage, or change its amount, close date or owner."""
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "next")}
    try:
        services.update_opportunity(current_user, opportunity_id, values)
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Opportunity updated."), "info")
    return redirect(back(url_for("crm.pipeline")))


@bp.route("/accounts/<int:account_id>/custom-fields", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def set_custom_field(account_id: int) -> Any:
    """Set or remove one custom field."""
    try:
        services.set_custom_field(current_user, account_id, request.form.get("key", ""),
                                  request.form.get("value"))
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Saved."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#details")


@bp.route("/accounts/<int:account_id>/pin", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def correct_pin(account_id: int) -> Any:
    """Move the pin to a verified check-in position."""
    interaction_id = request.form.get("interaction_id", type=int) or 0
    try:
        services.correct_pin_from_checkin(current_user, account_id, interaction_id)
    except ValidationError as err:
        flash_error(err)
    else:
        flash(_("Pin moved to the check-in position."), "info")
    return redirect(url_for("accounts.detail", account_id=account_id))
