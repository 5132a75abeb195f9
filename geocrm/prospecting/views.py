"""The prospecting page: look-alike places on a map and in a list, added in bulk.

Thin: the page renders an empty map and the choices; ``prospecting.js`` posts the area (a
territory, a circle or a drawn polygon, in the body: positions never go into a URL) to
``search.json`` and the chosen places to ``add``. Every role may use it, scoped to the
territories it works (:mod:`geocrm.prospecting.services`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from geocrm.access import scope_territories, team_rep_ids
from geocrm.core.region_places import place_index
from geocrm.core.transaction import commits
from geocrm.crm.segments import visible_segments
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.maps.build import render_parts
from geocrm.maps.web import configured_tiles, draw_assets, local_assets
from geocrm.models import Role, Territory, User
from geocrm.planning.base import hhmm
from geocrm.planning.replan import parse_clock
from geocrm.planning.scope import get_plan_or_404
from geocrm.prospecting import (
    adding,
    dropins,
    freshness,  # noqa: F401  (connects to region_loaded)
)
from geocrm.prospecting import services as svc
from geocrm.prospecting.maps import build_prospect_map

bp = Blueprint("prospecting", __name__, url_prefix="/prospecting")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("body", _("must be a JSON object"))
    return body


def _owners() -> list[User]:
    if current_user.role == Role.REP:
        return []
    stmt = select(User).where(User.role == Role.REP, User.active.is_(True)).order_by(User.name)
    team = team_rep_ids(current_user)
    if team is not None:
        stmt = stmt.where(User.id.in_(team))
    return list(db.session.scalars(stmt))


@bp.route("/")
@login_required
def index() -> Any:
    """The look-alikes page."""
    territories = list(db.session.scalars(
        scope_territories(select(Territory), current_user).order_by(Territory.name)))
    fmap = build_prospect_map([t.geom.bounds for t in territories], assets=local_assets(),
                              draw=draw_assets(), tiles=configured_tiles())
    parts = render_parts(fmap)
    segments = list(db.session.scalars(visible_segments(current_user).order_by("name")))
    places = place_index()
    page = {
        "map": parts.handles,
        "searchUrl": url_for("prospecting.search"),
        "addUrl": url_for("prospecting.add"),
        "osmUrl": "https://www.openstreetmap.org/",
        "words": {
            "found": _("%(n)s places not yet in the CRM"),
            "none": _("No look-alike places here: try a larger area, or another segment."),
            "added": _("%(n)s prospects added."),
            "skipped": _("%(n)s skipped: already in the CRM."),
            "leftOut": _("Left out (not valid): %(fields)s"),
            "failed": _("Could not do that: %(reason)s"),
            "selected": _("%(n)s selected"),
            "drawFirst": _("Draw an area on the map first."),
            "metres": _("%(n)s m from a customer"),
            "searching": _("Searching…"),
        },
    }
    return render_template(
        "prospecting/index.html", parts=parts, page=page, territories=territories,
        segments=segments, owners=_owners(), loaded=places is not None,
        places=len(places) if places is not None else 0,
        timestamp=(places.meta.get("timestamp") if places is not None else None),
        attribution=svc.ATTRIBUTION, attribution_url=svc.ATTRIBUTION_URL)


@bp.route("/search.json", methods=["POST"])
@login_required
@commits  # reads only; a POST (its question carries an area or a position), owning its transaction
def search() -> Any:
    """Look-alike places for the area, segment and limit in the JSON body."""
    found = svc.look_alikes(current_user, _body())
    index = svc.loaded_index()
    response = current_app.json.response({
        "candidates": [svc.candidate_json(index, c) for c in found.candidates],
        "inArea": found.in_area, "fitting": found.fitting, "known": found.known,
        "customers": found.profile.accounts,
        "categories": found.profile.counts,
        "attribution": svc.ATTRIBUTION,
    })
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/add", methods=["POST"])
@login_required
@commits
def add() -> Any:
    """Add the chosen places (``{"places": ["node/1", ...], "owner": id}``) as prospects."""
    body = _body()
    added = adding.add_places(current_user, body.get("places"), body.get("owner"))
    return {"added": len(added.account_ids), "accounts": added.account_ids,
            "skipped": added.skipped, "leftOut": added.left_out, "batch": added.batch_id}


def _where(body: dict[str, Any]) -> tuple[tuple[float, float] | None, int | None]:
    """The phone's position and the time (``HH:MM``) in the body, both optional."""
    position = None
    if body.get("lat") is not None or body.get("lon") is not None:
        position = (svc.number_in(body, "lat", -90, 90), svc.number_in(body, "lon", -180, 180))
    at = body.get("at")
    at_s = None
    if at not in (None, ""):
        try:
            hours, minutes = (int(x) for x in str(at).split(":"))
        except ValueError as exc:
            raise ValidationError("at", _("must be a time like 14:30")) from exc
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValidationError("at", _("must be a time like 14:30"))
        at_s = hours * 3600 + minutes * 60
    return position, at_s


@bp.route("/dropins.json", methods=["POST"])
@login_required
@commits  # reads only; a POST (its question carries an area or a position), owning its transaction
def dropins_json() -> Any:
    """Drop-ins that fit the rest of today's route (position and time in the body)."""
    position, at_s = _where(_body())
    found = dropins.suggest(current_user, position=position, at_s=at_s)
    response = current_app.json.response({"dropins": [
        {"kind": d.kind, "key": d.key, "name": d.name, "lat": d.lat, "lon": d.lon,
         "position": d.position, "extraMinutes": round(d.extra_s / 60), "arrival": hhmm(
             d.arrival_s), "value": d.value,
         "why": _("Overdue for a visit") if d.why == "overdue" else _("Looks like your customers")}
        for d in found], "attribution": svc.ATTRIBUTION})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/dropins/add", methods=["POST"])
@login_required
@commits
def dropins_add() -> Any:
    """Insert a drop-in into today's route (``{"kind", "key", "lat"?, "lon"?, "at"?}``)."""
    body = _body()
    position, at_s = _where(body)
    stop = dropins.add_dropin(current_user, body.get("kind"), body.get("key"),
                              position=position, at_s=at_s)
    return {"stop": stop.id, "seq": stop.seq, "account": stop.account_id}


# -- the planner's page: drop-ins for any published plan one may re-plan -----------------------
@bp.route("/plans/<int:plan_id>/dropins")
@login_required
def plan_dropins(plan_id: int) -> Any:
    """What fits into the slack of a published plan (``?at=HH:MM``: from that time on)."""
    plan = get_plan_or_404(plan_id, current_user)
    at_s = parse_clock(request.args.get("at"))
    found = dropins.suggest_for_plan(current_user, plan, at_s=at_s, limit=15)
    return render_template("prospecting/plan_dropins.html", plan=plan, dropins=found,
                           at=request.args.get("at", ""), hhmm=hhmm,
                           attribution=svc.ATTRIBUTION)


@bp.route("/plans/<int:plan_id>/dropins/add", methods=["POST"])
@login_required
@commits
def plan_dropins_add(plan_id: int) -> Any:
    """Insert one suggestion into that plan where it fits best (a form post), then show the
    plan; a suggestion that no longer fits is refused with the reason, nothing written."""
    plan = get_plan_or_404(plan_id, current_user)
    at_s = parse_clock(request.form.get("at"))
    try:
        stop = dropins.add_dropin_to_plan(current_user, plan, request.form.get("kind"),
                                          request.form.get("key"), at_s=at_s)
    except ValidationError as err:  # e.g. it no longer fits: say why, write nothing
        db.session.rollback()
        flash(err.reason, "error")
        return redirect(url_for("prospecting.plan_dropins", plan_id=plan.id))
    flash(_("Added %(name)s to the route as stop %(num)s.", name=stop.account.name,
            num=stop.seq), "success")
    return redirect(url_for("planning.plan", plan_id=plan.id))
