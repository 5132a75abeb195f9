"""Geocoding: addresses to pins and back, from the region's own address index or an engine.

* :mod:`places.geocode.types`: the contract every engine speaks (:class:`AddressQuery`,
  :class:`Confidence`, :class:`GeocodeResult`, :class:`Geocoder`).
* :mod:`places.geocode.index`: :func:`read_addresses` builds the region's
  :class:`AddressIndex` from its extract; :func:`save_addresses` / :func:`load_addresses` keep
  it as one file replaced atomically.
* :mod:`places.geocode.region`: :class:`RegionGeocoder`, the engine over that index.
* :mod:`places.geocode.text`: the folding and parsing both sides share.
"""

from places.geocode.index import AddressIndex, load_addresses, read_addresses, save_addresses
from places.geocode.region import RegionGeocoder
from places.geocode.types import AddressQuery, Confidence, Geocoder, GeocodeResult

__all__ = ["AddressIndex", "AddressQuery", "Confidence", "GeocodeResult", "Geocoder",
           "RegionGeocoder", "load_addresses", "read_addresses", "save_addresses"]
