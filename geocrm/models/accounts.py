"""Accounts (prospects and customers), their tags and their contacts."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


class Stage(enum.StrEnum):
    """The sales funnel, in order: lead → prospect → customer, or lost."""

    LEAD = "lead"
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    LOST = "lost"


class LocationSource(enum.StrEnum):
    """Where an account's pin came from (``accounts.location_source``): one spelling each
    (migration 0008 rewrote the "check-in" some rows had for ``checkin``)."""

    MANUAL = "manual"
    CHECKIN = "checkin"
    IMPORT = "import"
    OSM = "osm"
    GEOCODER = "geocoder"  # placed from the address (geocrm.geocoding); grade in account_geocodes


account_tags = Table(
    "account_tags",
    db.metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(db.Model):  # type: ignore[name-defined,misc]
    """A free label on accounts (segment filters use them)."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Account(db.Model):  # type: ignore[name-defined,misc]
    """A business the team sells to, at a place.

    ``lat``/``lon`` are plain indexed floats on both engines (a bounding-box prefilter);
    on PostGIS an expression GiST index over ``geography(point(lon, lat))`` serves radius
    queries without a second copy of the coordinates to keep in step.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_lat_lon", "lat", "lon"),
        Index("ix_accounts_territory_stage", "territory_id", "stage"),
        # A rep's scope (their territories or their own accounts) with live rows only, from
        # the index alone: the API list's total counted 12,500 of 100,000 accounts in 320 ms
        # on SQLite reading every row for ``archived``, 16 ms with these (issue 18).
        Index("ix_accounts_territory_archived", "territory_id", "archived"),
        Index("ix_accounts_owner_archived", "owner_id", "archived"),
        Index(
            "ix_accounts_geog_gist",
            text("(geography(ST_SetSRID(ST_MakePoint(lon, lat), 4326)))"),
            postgresql_using="gist",
        ).ddl_if(dialect="postgresql"),
        UniqueConstraint("source", "external_id", name="uq_accounts_source_external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True, default="")
    address: Mapped[str | None] = mapped_column(String(300))
    address_key: Mapped[str | None] = mapped_column(String(300), index=True)
    city: Mapped[str | None] = mapped_column(String(120))
    postcode: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    # The address in parts (geocrm.core.addresses says what each means per country);
    # ``address`` is then their one line, legacy rows keep the line they came with.
    region: Mapped[str | None] = mapped_column(String(120))  # province, 시·도, 都道府県, state
    district: Mapped[str | None] = mapped_column(String(120))  # 읍·면·동, 町域, suburb
    street: Mapped[str | None] = mapped_column(String(200))  # street or road name (도로명)
    housenumber: Mapped[str | None] = mapped_column(String(60))  # 110, 686-1, 1丁目1番1号
    building: Mapped[str | None] = mapped_column(String(200))  # building, floor, room
    # A Japanese account's reading (フリガナ) as typed, and its key for sorting and search
    # (geocrm.core.names.normalise_reading: width- and case-folded, hiragana as katakana).
    name_reading: Mapped[str | None] = mapped_column(String(200))
    reading_key: Mapped[str | None] = mapped_column(String(200), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Where the pin came from (a LocationSource value); and how sure we are (0..1).
    location_source: Mapped[str | None] = mapped_column(String(20))
    location_confidence: Mapped[float | None] = mapped_column(Float)
    stage: Mapped[Stage] = mapped_column(
        Enum(Stage, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=Stage.LEAD,
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Indexed by ix_accounts_territory_stage (territory_id first).
    territory_id: Mapped[int | None] = mapped_column(
        ForeignKey("territories.id", ondelete="SET NULL")
    )
    # OpenStreetMap opening_hours syntax, e.g. "Mo-Fr 09:00-17:00; Sa 10:00-14:00".
    opening_hours: Mapped[str | None] = mapped_column(String(300))
    visit_minutes: Mapped[int] = mapped_column(Integer, default=30)
    cadence_days: Mapped[int | None] = mapped_column(Integer)  # target: a visit every N days
    priority: Mapped[int] = mapped_column(Integer, default=3)  # 1 (highest) .. 5
    # Skills a rep needs to visit ("forklift, 日本語": geocrm.core.skills); the planner sends
    # only reps who have them all.
    required_skills: Mapped[str | None] = mapped_column(String(300))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(40), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(120))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # Set when an import snapshot no longer contains the account: flagged, never deleted.
    missing_since: Mapped[datetime | None] = mapped_column(DateTime)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every edit (sync merges)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    owner = relationship("User", foreign_keys=[owner_id])
    territory = relationship("Territory")
    tags = relationship("Tag", secondary=account_tags, lazy="selectin")
    contacts = relationship(
        "Contact", back_populates="account", cascade="all, delete-orphan", order_by="Contact.id"
    )

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.name for t in self.tags)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.name!r}>"


class Contact(db.Model):  # type: ignore[name-defined,misc]
    """A person at an account."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)  # the API's updated_since

    account = relationship("Account", back_populates="contacts")
