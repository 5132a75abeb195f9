"""The home page: what this user should look at today."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from geocrm.access import scope_accounts, scope_territories
from geocrm.crm.services import home_tasks, local_today
from geocrm.devices import wants_field_app
from geocrm.extensions import db
from geocrm.models import Account, Territory

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> Any:
    """Send visitors to their home page or to the login."""
    if current_user.is_authenticated:
        if wants_field_app(request, current_user.role.value):
            return redirect(url_for("field.shell"))
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.route("/home")
@login_required
def home() -> Any:
    """Counts by stage, my territories, my tasks due today, overdue and coming up."""
    stage_counts = dict(
        db.session.execute(
            scope_accounts(
                select(Account.stage, func.count(Account.id)).where(Account.archived.is_(False)),
                current_user,
            ).group_by(Account.stage)
        ).all()
    )
    territories = db.session.scalars(
        scope_territories(select(Territory), current_user).order_by(Territory.name)
    ).all()
    today = local_today()
    return render_template(
        "main/home.html",
        stage_counts=stage_counts,
        territories=territories,
        tasks=home_tasks(current_user, today),
        today=today,
    )


@bp.route("/about")
def about() -> Any:
    """Licences and attribution (OpenStreetMap data in the demo)."""
    return render_template("main/about.html")
