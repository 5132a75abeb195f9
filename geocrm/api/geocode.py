"""``POST /api/v1/geocode/reverse``: the address where the phone stands ("add account here").

The position travels in the JSON body (``{"lat": .., "lon": ..}``), never in the URL: URLs end
up in logs and browser history, and a rep's whereabouts do not belong there. Session + CSRF or
a bearer token, like the rest of the API. Answers ``{"found": false}`` when nothing is near or
no geocoder is set up (the form just stays empty), a 502 problem when the engine is broken.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import login_required

from geocrm.api import bp
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError, problem
from geocrm.geocoding import services
from geocrm.geocoding.engine import current_geocoder
from places.geocode.engines import EngineError


@bp.route("/geocode/reverse", methods=["POST"])
@login_required
@commits  # reads only; a POST to keep the position out of the URL, owning its transaction
def reverse_geocode() -> Any:
    """The nearest address to ``lat``/``lon`` (street line, postcode, city, confidence)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("body", _("must be a JSON object with lat and lon"))
    lat, lon = services.read_position(body)
    geocoder = current_geocoder()
    if geocoder is None:
        return jsonify({"found": False})
    try:
        found = services.address_at(geocoder, lat, lon)
    except EngineError as err:
        return problem(502, _("The geocoder did not answer"), str(err))
    if found is None or not found.get("address"):
        return jsonify({"found": False})
    return jsonify({"found": True, **found})
