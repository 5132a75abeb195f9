"""Segments: saved account filters, their list, form, accounts, CSV, map and campaign
responses.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.core.transaction import commits
from geocrm.crm import segments
from geocrm.crm.maps import MapPoint, build_points_map
from geocrm.crm.views.blueprint import (
    EVERYONE,
    SEGMENT_MAP_LIMIT,
    account_url_pattern,
    bp,
    csv_response,
    flash_error,
    today,
)
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.maps.build import render_parts
from geocrm.maps.web import configured_tiles, local_assets
from geocrm.models import Role
from geocrm.models.crm import Segment


@bp.route("/segments")
@roles_required(*EVERYONE)
def segment_list() -> Any:
    """Saved segments: mine and the shared ones."""
    rows = list(db.session.scalars(
        segments.visible_segments(current_user).order_by(Segment.name, Segment.id)
    ))
    described = [(s, segments.SegmentFilters.parse(s.filters or {}).describe()) for s in rows]
    return render_template("crm/segments.html", segments=described)


@bp.route("/segments/new", methods=["GET", "POST"])
@roles_required(*EVERYONE)
@commits
def segment_new() -> Any:
    """Create a segment from filters."""
    return _segment_form(None)


@bp.route("/segments/<int:segment_id>/edit", methods=["GET", "POST"])
@roles_required(*EVERYONE)
@commits
def segment_edit(segment_id: int) -> Any:
    """Change a segment's name, sharing or filters."""
    return _segment_form(segment_id)


def _segment_form(segment_id: int | None) -> Any:
    segment = segments.get_segment_or_404(segment_id, current_user) if segment_id else None
    error = None
    if request.method == "POST":
        try:
            saved = segments.save_segment(current_user, request.form, segment_id)
        except ValidationError as err:
            db.session.rollback()
            error = err
        else:
            flash(_("Segment saved."), "info")
            return redirect(url_for("crm.segment_detail", segment_id=saved.id))
    if request.method == "POST":
        values: Any = request.form
    elif segment is not None:
        values = {"name": segment.name, "description": segment.description or "",
                  "shared": segment.shared, **(segment.filters or {})}
    else:
        values = {}
    return render_template(
        "crm/segment_form.html", segment=segment, values=values, error=error,
        choices=segments.filter_choices(current_user),
    ), (422 if error else 200)


def _multi(values: Any, name: str) -> list[str]:
    if hasattr(values, "getlist"):
        return [str(v) for v in values.getlist(name)]
    raw = values.get(name) or []
    return [str(v) for v in (raw if isinstance(raw, list) else [raw])]


@bp.app_template_global("crm_multi")
def crm_multi(values: Any, name: str) -> list[str]:
    """Selected values of a multi-value field, from a form or a stored filter dict."""
    return _multi(values, name)


@bp.route("/segments/<int:segment_id>")
@roles_required(*EVERYONE)
def segment_detail(segment_id: int) -> Any:
    """The segment's accounts (as the user sees them), with export, map, plan and responses."""
    segment = segments.get_segment_or_404(segment_id, current_user)
    filters = segments.SegmentFilters.parse(segment.filters or {})
    ids = segments.evaluate(filters, current_user)
    shown = segments.segment_accounts(ids, limit=500)
    return render_template(
        "crm/segment.html", segment=segment, description=filters.describe(), count=len(ids),
        accounts=shown, outcomes=segments.CAMPAIGN_OUTCOMES, today=today(),
        can_edit=segment.created_by_id == current_user.id or current_user.role == Role.ADMIN,
        can_plan=current_user.role in (Role.ADMIN, Role.MANAGER, Role.PLANNER),
    )


@bp.route("/segments/<int:segment_id>/delete", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def segment_delete(segment_id: int) -> Any:
    """Delete a segment (its maker or an admin)."""
    segments.delete_segment(current_user, segment_id)
    flash(_("Segment deleted."), "info")
    return redirect(url_for("crm.segment_list"))


@bp.route("/segments/<int:segment_id>.csv")
@roles_required(*EVERYONE)
def segment_csv(segment_id: int) -> Any:
    """The segment's accounts as CSV."""
    ids = segments.segment_account_ids(segment_id, current_user)
    accounts = segments.segment_accounts(ids)
    return csv_response(segments.accounts_csv(accounts), f"segment-{segment_id}.csv")


@bp.route("/segments/<int:segment_id>/map")
@roles_required(*EVERYONE)
def segment_map(segment_id: int) -> Any:
    """The segment's located accounts on a clustered map."""
    segment = segments.get_segment_or_404(segment_id, current_user)
    ids = segments.segment_account_ids(segment_id, current_user)
    accounts = [a for a in segments.segment_accounts(ids) if a.lat is not None]
    points = [MapPoint(a.lat, a.lon, a.name, "account", a.id)
              for a in accounts[:SEGMENT_MAP_LIMIT]]
    fmap = build_points_map(points, assets=local_assets(), tiles=configured_tiles(),
                            account_url=account_url_pattern(), cluster=True)
    return render_template("crm/segment_map.html", segment=segment, parts=render_parts(fmap),
                           shown=len(points), located=len(accounts), total=len(ids))


@bp.route("/segments/<int:segment_id>/responses", methods=["POST"])
@roles_required(*EVERYONE)
@commits
def segment_responses(segment_id: int) -> Any:
    """Record campaign responses of the chosen accounts as interactions."""
    try:
        n = segments.record_campaign_responses(current_user, segment_id, request.form)
    except ValidationError as err:
        db.session.rollback()
        flash_error(err)
    else:
        flash(ngettext("%(num)s campaign response recorded.",
                       "%(num)s campaign responses recorded.", n), "info")
    return redirect(url_for("crm.segment_detail", segment_id=segment_id))
