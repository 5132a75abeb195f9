"""Admin pages for webhooks (issue 18): endpoints, their delivery log, replay.

Thin: registering and replaying are in :mod:`geocrm.webhooks.endpoints`; a replay only sets
the delivery pending again and the request's after-hook starts the delivery job.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.models import Role
from geocrm.webhooks import endpoints
from geocrm.webhooks.events import EVENTS, PATTERNS

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _families() -> list[str]:
    return [p for p in PATTERNS if p.endswith(".*") or p == "*"]


def _index(status: int = 200, **extra: Any) -> Any:
    context = {"endpoints": endpoints.list_endpoints(), "events": EVENTS,
               "families": _families(), "error": None, "secret": None, "url": "",
               "description": "", "chosen": [], **extra}
    return render_template("webhooks/index.html", **context), status


@bp.route("/")
@roles_required(Role.ADMIN)
def index() -> Any:
    """Every endpoint and the form to register one."""
    return _index()


@bp.route("/", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def create() -> Any:
    """Register an endpoint; its signing secret is shown on this answer only."""
    url = request.form.get("url", "")
    description = request.form.get("description", "")
    chosen = request.form.getlist("events")
    try:
        row, secret = endpoints.create_endpoint(current_user, url, chosen, description)
    except ValidationError as err:
        return _index(422, error=f"{err.field}: {err.reason}", url=url,
                      description=description, chosen=chosen)
    flash(_("Webhook registered. Copy its signing secret now: it is not shown again."), "info")
    return _index(201, secret=secret, new_id=row.id)


@bp.route("/<int:endpoint_id>")
@roles_required(Role.ADMIN)
def detail(endpoint_id: int) -> Any:
    """One endpoint's delivery log, newest first."""
    endpoint = endpoints.get_endpoint_or_404(endpoint_id)
    return render_template("webhooks/detail.html", endpoint=endpoint, events=EVENTS,
                           deliveries=endpoints.deliveries(endpoint.id))


@bp.route("/<int:endpoint_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def set_active(endpoint_id: int) -> Any:
    """Pause or resume an endpoint."""
    row = endpoints.set_active(endpoint_id, request.form.get("active") == "1")
    flash(_("Webhook resumed.") if row.active else _("Webhook paused."), "info")
    return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))


@bp.route("/<int:endpoint_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def delete(endpoint_id: int) -> Any:
    """Remove an endpoint and its log."""
    endpoints.delete_endpoint(endpoint_id)
    flash(_("Webhook removed."), "info")
    return redirect(url_for("webhooks.index"))


@bp.route("/deliveries/<int:delivery_id>/replay", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def replay(delivery_id: int) -> Any:
    """Send a delivery again (same event id, new signature)."""
    row = endpoints.replay(delivery_id)
    g.webhooks_pending = True  # the after-request hook starts the delivery job
    flash(_("Delivery queued again."), "info")
    return redirect(url_for("webhooks.detail", endpoint_id=row.endpoint_id))
