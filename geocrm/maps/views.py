"""Territory map: the page, its compact points endpoint and the lazy popup endpoint."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from geocrm.access import roles_required
from geocrm.maps import colouring, services
from geocrm.maps.build import build_territory_map, leaflet_handles, render_parts
from geocrm.maps.points_cache import points_cache, version_ttl
from geocrm.maps.web import configured_tiles, local_assets
from geocrm.models import Role

bp = Blueprint("maps", __name__, url_prefix="/maps")

MAP_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER)


@bp.route("/territories")
@roles_required(*MAP_ROLES)
def territories() -> Any:
    """Prospects on a map by territory."""
    choices = services.filter_choices(current_user)
    filters = services.parse_filters(request.args, choices)
    colour_choices = colouring.colour_choices(current_user)
    colour_by = colouring.parse_colour_by(request.args, current_user, colour_choices)
    layers = services.territory_layers(current_user, filters)
    bounds = services.map_bounds(current_user, filters, layers)
    fmap = build_territory_map(
        layers,
        bounds,
        assets=local_assets(),
        tiles=configured_tiles(),
        show_unassigned_toggle=not filters.territory_ids,
    )
    args = services.filter_args(filters)
    return render_template(
        "maps/territories.html",
        parts=render_parts(fmap),
        layers=layers,
        choices=choices,
        filters=filters,
        colour_choices=colour_choices,
        colour_by=colour_by,
        colour_label=dict(colour_choices)[colour_by],
        # Not ``config``: that name is Flask's app config in every template.
        map_config={
            "pointsUrl": url_for("maps.points", **args, colour=colour_by),
            # Filled in by the script with an account id (ids are integers, nothing to escape).
            "popupUrl": url_for("maps.popup", account_id=0).replace("/0/", "/{id}/"),
            "accountUrl": url_for("accounts.detail", account_id=0)[:-1] + "{id}",
            # folium's variable names of the map and its territory layers (territory_map.js)
            "leaflet": leaflet_handles(fmap),
        },
    )


@bp.route("/territories/points.json")
@roles_required(*MAP_ROLES)
def points() -> Any:
    """The filtered, scoped accounts as compact columnar JSON for the cluster layer.

    Built once per version of the data (:mod:`geocrm.maps.points_cache`); a browser sending
    the current ETag back gets a 304 without the payload being built or sent.
    """
    choices = services.filter_choices(current_user, owners=bool(request.args.getlist("owner")))
    filters = services.parse_filters(request.args, choices)
    colour_by = colouring.parse_colour_by(request.args, current_user)
    cache = points_cache()
    slot = services.points_slot(current_user, filters, colour_by)

    def etag_now() -> str:
        return services.points_etag(current_user, filters, colour_by)

    etag = cache.etag(slot, etag_now, version_ttl(current_app))
    # Weak comparison (RFC 9110 for If-None-Match): a gzipping proxy weakens the ETag it passes.
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
        response.set_etag(etag)
    else:
        body, current = cache.get_or_build(
            etag,
            slot,
            lambda: services.points_json(current_user, filters, colour_by).encode(),
            lambda: etag_now() == etag,
        )
        response = Response(body, mimetype="application/json")
        # Not current: a write landed since the ETag was computed (within the TTL, or while
        # building): the body is newer than the ETag, so it goes without one and is not kept.
        if current:
            response.set_etag(etag)
    # private: per user; no-cache: the browser keeps it but asks (If-None-Match) every time.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/accounts/<int:account_id>/popup.json")
@roles_required(*MAP_ROLES)
def popup(account_id: int) -> Any:
    """Name, stage and last visit of one visible account, for its marker's popup."""
    return jsonify(services.popup_details(account_id, current_user))
