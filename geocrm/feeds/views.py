"""Calendar pages: one's subscription link, the feed itself, and single events as files."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from geocrm.core.transaction import commits
from geocrm.extensions import csrf
from geocrm.feeds import services

bp = Blueprint("feeds", __name__, url_prefix="/calendar")

ICS = "text/calendar; charset=utf-8"


def _domain() -> str:
    return request.host.split(":")[0]


@bp.route("/")
@login_required
def index() -> Any:
    """The subscription: whether one exists, how to subscribe, make a new link or stop."""
    return render_template("feeds/index.html", feed=services.has_feed(current_user), link=None)


@bp.route("/new", methods=["POST"])
@login_required
@commits
def new() -> Any:
    """A new private link (the old one stops working); shown once."""
    token = services.new_feed(current_user)
    link = url_for("feeds.feed", token=token, _external=True)
    flash(_("Your new calendar link is below; the old one no longer works."), "info")
    return render_template("feeds/index.html", feed=services.has_feed(current_user), link=link,
                           webcal=link.replace("https://", "webcal://", 1)
                           .replace("http://", "webcal://", 1))


@bp.route("/stop", methods=["POST"])
@login_required
@commits
def stop() -> Any:
    services.revoke(current_user)
    flash(_("Calendar link revoked: subscribed calendars stop updating."), "info")
    return redirect(url_for("feeds.index"), 303)


@bp.route("/feed/<token>.ics")
@csrf.exempt
def feed(token: str) -> Response:
    """The subscription itself: no sign-in (calendar apps cannot), the token is the key."""
    user = services.owner_of(token)
    response = Response(services.feed_ics(user, domain=_domain()), mimetype="text/calendar")
    response.headers["Content-Type"] = ICS
    response.headers["Cache-Control"] = "private, max-age=900"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _attachment(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = ICS
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/tasks/<int:task_id>.ics")
@login_required
def task_file(task_id: int) -> Response:
    """One task as a calendar file."""
    _task, body = services.single_task_ics(task_id, current_user, domain=_domain())
    return _attachment(body, f"task-{task_id}.ics")


@bp.route("/plans/<int:plan_id>/stops/<int:stop_id>.ics")
@login_required
def visit_file(plan_id: int, stop_id: int) -> Response:
    """One planned visit as a calendar file."""
    body = services.single_visit_ics(plan_id, stop_id, current_user, domain=_domain())
    return _attachment(body, f"visit-{stop_id}.ics")
