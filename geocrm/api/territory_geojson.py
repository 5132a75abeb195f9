"""GeoJSON from integrations: positions the wrong way round are caught before the editor's
rules see them.

The map editor cannot swap latitude and longitude (the map draws what you click); a script
can. GeoJSON says ``[longitude, latitude]``, and a Korean polygon written ``[37.5, 127.0]``
is outside the world's latitudes, while a Finnish one written ``[60.2, 24.9]`` is a valid
place in the Arabian Sea: range checks cannot catch that one. The rule of the account
import (:func:`geocrm.imports.rows.reject_swapped`) applies: a shape more than 500 km from
where the company works that, swapped, lies within 100 km of it, is swapped.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from shapely.geometry import shape
from sqlalchemy import select

from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, Territory
from territories.geodesy import haversine_m, looks_like_degrees

FAR_M = 500_000
NEAR_M = 100_000


def feature_label(number: int | None, name: str | None, where: str) -> str:
    """How a problem names the feature: its place in the collection and its name."""
    shown = name or "?"
    if where and number is not None:
        return f'{where}[{number}] "{shown}"'
    return _('territory "%(name)s"', name=shown)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def company_centre() -> tuple[float, float] | None:
    """(lat, lon) of where the company works: the median of its accounts' pins, else of its
    territories' boxes; ``None`` for an empty company."""
    pins = db.session.execute(
        select(Account.lat, Account.lon).where(Account.lat.is_not(None),
                                               Account.lon.is_not(None)).limit(2000)).all()
    if pins:
        return _median([p[0] for p in pins]), _median([p[1] for p in pins])
    boxes = db.session.execute(select(Territory.min_lat, Territory.max_lat, Territory.min_lon,
                                      Territory.max_lon).limit(2000)).all()
    if boxes:
        return (_median([(b[0] + b[1]) / 2 for b in boxes]),
                _median([(b[2] + b[3]) / 2 for b in boxes]))
    return None


def check_not_swapped(geometry: dict[str, Any]) -> None:
    """422 on ``geometry`` when its positions look like ``[latitude, longitude]``.

    A geometry that does not parse is left to the editor's own check, which says why.
    """
    try:
        geom = shape(geometry)
    except Exception:  # noqa: BLE001 - shapely raises several types; the service explains
        return
    if geom.is_empty:
        return
    minx, miny, maxx, maxy = (float(v) for v in geom.bounds)
    message = _("latitude and longitude look swapped: GeoJSON positions are "
                "[longitude, latitude]")
    if not looks_like_degrees((minx, miny, maxx, maxy)):
        if looks_like_degrees((miny, minx, maxy, maxx)):
            raise ValidationError("geometry", message)
        return
    centre = company_centre()
    if centre is None:
        return
    x, y = (minx + maxx) / 2, (miny + maxy) / 2
    far = haversine_m(centre[0], centre[1], y, x) > FAR_M
    if far and abs(x) <= 90 and haversine_m(centre[0], centre[1], x, y) < NEAR_M:
        raise ValidationError("geometry", message)
