"""What every geocoder answers, whichever engine is behind it.

The region's own address index (:mod:`places.geocode`), and self-hosted Nominatim, Photon or
Pelias servers for companies that outgrow one machine, all speak this one contract, so the app
picks an engine with one setting and never branches on which one answered.

A result carries a *named* confidence rather than a score: a rep deciding whether to trust a pin
needs to know "this is the house" from "this is somewhere on the street", and a score from one
engine means nothing next to another's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Confidence(StrEnum):
    """How precisely a result places the address, best first."""

    EXACT = "exact"  # the house number exists as an address point or building
    INTERPOLATED = "interpolated"  # placed along the street between known numbers
    STREET = "street"  # the street exists; the number does not (or none given)
    POSTCODE = "postcode"  # only the postcode area's centre
    LOCALITY = "locality"  # only the city, town, suburb, village or quarter

    @property
    def rank(self) -> int:
        """0 for the best grade; compare grades with this, never by name."""
        return list(Confidence).index(self)


@dataclass(frozen=True)
class AddressQuery:
    """One address to find: free text, structured fields, or both.

    Structured fields win where present (the import and the account form have them); ``text`` is
    what a person typed in one box. ``country`` is an ISO 3166-1 alpha-2 code and decides how the
    text is read (Korean road-name and lot addresses, Japanese block addresses).
    """

    text: str | None = None
    country: str | None = None
    postcode: str | None = None
    region: str | None = None  # province, prefecture, state
    city: str | None = None
    district: str | None = None  # 구/区, suburb, quarter
    street: str | None = None  # street or road name (도로명)
    housenumber: str | None = None  # "12", "12-3", "1丁目2番3号"
    building: str | None = None  # building and room: kept, never matched on

    def is_empty(self) -> bool:
        """True when there is nothing to look up."""
        return not any(
            (v or "").strip()
            for v in (self.text, self.postcode, self.city, self.district, self.street,
                      self.housenumber)
        )


@dataclass(frozen=True)
class GeocodeResult:
    """A place for an address: where, how sure, and what address the engine matched."""

    lon: float
    lat: float
    confidence: Confidence
    label: str  # the matched address, one line, as the engine would print it
    source: str  # "region", "nominatim", "photon", "pelias"
    address: dict[str, str] = field(default_factory=dict)  # structured fields of the match

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lon) and math.isfinite(self.lat)):
            raise ValueError("geocode result: lon/lat must be finite numbers")
        if not (-180.0 <= self.lon <= 180.0 and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"geocode result: lon/lat out of range ({self.lon}, {self.lat})")


class Geocoder(Protocol):
    """Forward and reverse geocoding, one engine behind it."""

    name: str

    def forward(self, query: AddressQuery) -> GeocodeResult | None:
        """The best place for an address, or None when nothing matches at any grade."""
        ...

    def forward_many(self, queries: list[AddressQuery]) -> list[GeocodeResult | None]:
        """``forward`` for a batch, in order (engines may answer a batch faster)."""
        ...

    def reverse(self, lon: float, lat: float) -> GeocodeResult | None:
        """The nearest address to a point (what to print for "add account here")."""
        ...
