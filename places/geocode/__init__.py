"""Geocoding: addresses to pins and back, from the region's own address index or an engine."""

from places.geocode.types import AddressQuery, Confidence, Geocoder, GeocodeResult

__all__ = ["AddressQuery", "Confidence", "GeocodeResult", "Geocoder"]
