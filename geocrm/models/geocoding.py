"""Where the geocoder stands with each account: pending, placed (with its named grade), not found.

One row per account the geocoder has looked at or must look at. The pin itself stays on
:class:`~geocrm.models.accounts.Account` (``lat``/``lon``, ``location_source="geocoder"``, and
``location_confidence`` as a 0..1 number the Data health threshold reads); this row keeps what a
number cannot say: the *named* confidence (exact, interpolated, street, postcode, locality), the
address the engine matched, which engine, and the state of the background work, so a re-run
picks up exactly the accounts still pending and never retries a "not found" by itself.

``confidence`` describes the pin only while ``accounts.location_source`` is ``geocoder``: a
person's or a verified check-in's pin replaces the geocoder's, and the grade no longer applies.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from geocrm.extensions import db
from geocrm.models.types import utcnow


class GeocodeStatus(enum.StrEnum):
    """What the geocoder did with an account's address."""

    PENDING = "pending"  # waiting for the background job
    PLACED = "placed"  # pinned from the address
    NOT_FOUND = "not_found"  # the engine knows no place for the address at any grade
    NO_ADDRESS = "no_address"  # nothing to look up
    FAILED = "failed"  # the engine could not answer (error kept); retried by the next run


class AccountGeocode(db.Model):  # type: ignore[name-defined,misc]
    """The geocoder's state for one account (see the module docstring)."""

    __tablename__ = "account_geocodes"

    account_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=GeocodeStatus.PENDING)
    # A places.geocode.Confidence value: exact, interpolated, street, postcode, locality.
    confidence: Mapped[str | None] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(300))  # the address the engine matched
    # The normalised address the pin was placed for (places.geocode.engines.query_key): an
    # address changed by any path since (an import's bulk update too) shows as a different key.
    query_key: Mapped[str | None] = mapped_column(String(800))
    engine: Mapped[str | None] = mapped_column(String(20))  # region, nominatim, photon, pelias
    error: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
