"""Segments: saved account filters used as campaign target groups.

A segment stores its filter, never a list of ids. It is evaluated for whoever asks, inside
that user's scope (:mod:`geocrm.access`), on the day they ask: "not visited for 60 days"
means 60 days before *today*, and a shared segment shows a rep only their own accounts.
The planner plans a segment through :func:`segment_account_ids`.
"""

from __future__ import annotations

import io
import uuid as uuidlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload

from geocrm.access import scope_accounts, scope_territories, visible_accounts
from geocrm.clock import local_today
from geocrm.core import audit
from geocrm.core.names import account_search
from geocrm.crm.sqltime import days_since, dialect_name
from geocrm.csvout import SafeWriter
from geocrm.errors import NotFoundError, PermissionDenied, ValidationError
from geocrm.extensions import db
from geocrm.i18n import label, money
from geocrm.models import (
    Account,
    Interaction,
    InteractionKind,
    Role,
    Stage,
    Tag,
    Territory,
    User,
    account_tags,
    utcnow,
)
from geocrm.models.crm import Segment
from geocrm.params import to_float, to_ids, to_int
from geocrm.spatial import SpatialRepository

MAX_RADIUS_KM = 500.0
CAMPAIGN_OUTCOMES = ("responded", "interested", "declined", "unsubscribed", "bounced")


@dataclass
class SegmentFilters:
    """What a segment selects; every part is optional and the parts are ANDed.

    ``territory_ids``/``unassigned``: in any of these territories (or in none).
    ``stages``, ``tags``: any of them. ``min_value``/``max_value``: account value bounds.
    ``not_visited_days``: last visit at least N days ago, or never.
    ``visited_within_days``: last visit at most N days ago. ``overdue``: more days since
    the last visit than the account's cadence (never visited counts as overdue).
    ``near_lat``/``near_lon``/``near_km``: within that great-circle distance of a point.
    """

    territory_ids: list[int] = field(default_factory=list)
    unassigned: bool = False
    stages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    min_value: str | None = None
    max_value: str | None = None
    not_visited_days: int | None = None
    visited_within_days: int | None = None
    overdue: bool = False
    near_lat: float | None = None
    near_lon: float | None = None
    near_km: float | None = None
    q: str = ""

    @classmethod
    def parse(cls, values: Any) -> SegmentFilters:
        """From a form (``getlist`` for multi-values) or a stored dict; errors name the field."""

        def many(name: str) -> list[str]:
            if hasattr(values, "getlist"):
                raw = values.getlist(name)
            else:
                raw = values.get(name) or []
                raw = raw if isinstance(raw, list) else [raw]
            out: list[str] = []
            for item in raw:
                for part in str(item).split(","):
                    if part.strip():
                        out.append(part.strip())
            return out

        def one(name: str) -> str:
            raw = values.get(name)
            return "" if raw is None else str(raw).strip()

        def ints(name: str) -> list[int]:
            return list(to_ids(many(name), name))

        def days(name: str) -> int | None:
            return to_int(one(name), name, default=None, lo=0, hi=36500)

        def money(name: str) -> str | None:
            v = one(name).replace(" ", "").replace(",", ".")
            if not v:
                return None
            try:
                d = Decimal(v)
            except InvalidOperation as exc:
                raise ValidationError(name, _("not a number: %(value)s", value=repr(v))) from exc
            if not d.is_finite():
                raise ValidationError(name, _("not a number"))
            return str(d)

        def number(name: str, lo: float, hi: float) -> float | None:
            return to_float(one(name).replace(",", "."), name, default=None, lo=lo, hi=hi)

        def flag(name: str) -> bool:
            raw = values.get(name)
            return raw is True or str(raw).lower() in {"1", "true", "on", "yes"}

        stages = many("stages") or many("stage")
        for s in stages:
            if s not in {m.value for m in Stage}:
                raise ValidationError("stages", _("unknown stage %(stage)s", stage=repr(s)))
        tids = ints("territory_ids") or ints("territory")
        filters = cls(
            territory_ids=tids,
            unassigned=flag("unassigned"),
            stages=stages,
            tags=[t[:60] for t in (many("tags") or many("tag"))],
            min_value=money("min_value"),
            max_value=money("max_value"),
            not_visited_days=days("not_visited_days"),
            visited_within_days=days("visited_within_days"),
            overdue=flag("overdue"),
            near_lat=number("near_lat", -90, 90),
            near_lon=number("near_lon", -180, 180),
            near_km=number("near_km", 0.001, MAX_RADIUS_KM),
            q=one("q")[:100],
        )
        near = (filters.near_lat, filters.near_lon, filters.near_km)
        if any(v is not None for v in near) and not all(v is not None for v in near):
            missing = [n for n, v in zip(("near_lat", "near_lon", "near_km"), near,
                                         strict=True) if v is None]
            raise ValidationError(missing[0], _("is needed for a distance filter"))
        if (filters.min_value is not None and filters.max_value is not None
                and Decimal(filters.min_value) > Decimal(filters.max_value)):
            raise ValidationError("max_value", _("is below min_value"))
        return filters

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "", False)}

    def describe(self) -> list[str]:
        """Plain-language parts, for the segment list."""
        parts = []
        if self.territory_ids or self.unassigned:
            names = dict(db.session.execute(
                select(Territory.id, Territory.name).where(Territory.id.in_(self.territory_ids))
            ).all())
            shown = [names.get(t, f"#{t}") for t in self.territory_ids]
            parts.append(_("territory: %(names)s", names=", ".join(
                shown + ([_("unassigned")] if self.unassigned else []))))
        if self.stages:
            parts.append(_("stage: %(names)s", names=", ".join(label(s) for s in self.stages)))
        if self.tags:
            parts.append(_("tags: %(names)s", names=", ".join(self.tags)))
        if self.min_value is not None:
            parts.append(_("value ≥ %(amount)s", amount=money(self.min_value)))
        if self.max_value is not None:
            parts.append(_("value ≤ %(amount)s", amount=money(self.max_value)))
        if self.not_visited_days is not None:
            parts.append(_("not visited for %(days)s days", days=self.not_visited_days))
        if self.visited_within_days is not None:
            parts.append(_("visited within %(days)s days", days=self.visited_within_days))
        if self.overdue:
            parts.append(_("overdue by cadence"))
        if self.near_km is not None:
            parts.append(_("within %(km)s km of %(lat)s, %(lon)s", km=format(self.near_km, "g"),
                           lat=format(self.near_lat, ".4f"), lon=format(self.near_lon, ".4f")))
        if self.q:
            parts.append(_("name contains “%(text)s”", text=self.q))
        return parts or [_("all accounts")]


def filtered_accounts(filters: SegmentFilters, user: User, as_of: date) -> Select[Any]:
    """``select(Account)`` for the filters, scoped to ``user``, without the distance filter
    (that one needs the spatial repository, see :func:`evaluate`)."""
    stmt = visible_accounts(user).where(Account.archived.is_(False))
    if filters.territory_ids or filters.unassigned:
        conds = []
        if filters.territory_ids:
            conds.append(Account.territory_id.in_(filters.territory_ids))
        if filters.unassigned:
            conds.append(Account.territory_id.is_(None))
        stmt = stmt.where(or_(*conds))
    if filters.stages:
        stmt = stmt.where(Account.stage.in_([Stage(s) for s in filters.stages]))
    if filters.tags:
        tagged = select(account_tags.c.account_id).join(Tag, Tag.id == account_tags.c.tag_id)
        stmt = stmt.where(Account.id.in_(tagged.where(Tag.name.in_(filters.tags))))
    if filters.min_value is not None:
        stmt = stmt.where(Account.value >= Decimal(filters.min_value))
    if filters.max_value is not None:
        stmt = stmt.where(Account.value <= Decimal(filters.max_value))
    dialect = dialect_name(db.session)
    since = days_since(Account.last_visit_at, as_of, dialect)
    if filters.not_visited_days is not None:
        stmt = stmt.where(
            or_(Account.last_visit_at.is_(None), since >= filters.not_visited_days)
        )
    if filters.visited_within_days is not None:
        stmt = stmt.where(
            and_(Account.last_visit_at.is_not(None), since <= filters.visited_within_days)
        )
    if filters.overdue:
        stmt = stmt.where(
            Account.cadence_days.is_not(None),
            or_(Account.last_visit_at.is_(None), since > Account.cadence_days),
        )
    if filters.q:
        stmt = stmt.where(account_search(filters.q))
    return stmt


def evaluate(filters: SegmentFilters, user: User, as_of: date | None = None) -> list[int]:
    """Ids of the accounts the filters select for ``user``, ascending."""
    as_of = as_of or local_today()
    stmt = filtered_accounts(filters, user, as_of)
    if filters.near_km is not None:
        assert filters.near_lat is not None and filters.near_lon is not None
        near = SpatialRepository(db.session).accounts_near(
            filters.near_lat, filters.near_lon, filters.near_km * 1000.0,
            base=stmt, limit=10_000_000,
        )
        return sorted(n.account_id for n in near)
    return sorted(int(i) for i in db.session.scalars(stmt.with_only_columns(Account.id)))


# -- saved segments ----------------------------------------


def visible_segments(user: User) -> Select[tuple[Segment]]:
    """Segments ``user`` may open: their own and the shared ones (admins: all)."""
    stmt = select(Segment)
    if user.role != Role.ADMIN:
        stmt = stmt.where(or_(Segment.created_by_id == user.id, Segment.shared.is_(True)))
    return stmt


def get_segment_or_404(segment_id: int, user: User) -> Segment:
    segment = db.session.scalars(
        visible_segments(user).where(Segment.id == segment_id)
    ).one_or_none()
    if segment is None:
        raise NotFoundError(_("No segment %(id)s.", id=segment_id))
    return segment


def segment_account_ids(segment_id: int, user: User) -> list[int]:
    """The accounts of a segment ``user`` may open, within ``user``'s scope, as of today.

    The planner's entry point. Raises :class:`~geocrm.errors.NotFoundError` (404) when
    the segment does not exist or is neither theirs nor shared.
    """
    segment = get_segment_or_404(segment_id, user)
    return evaluate(SegmentFilters.parse(segment.filters or {}), user)


def _editable(segment: Segment, user: User) -> None:
    if segment.created_by_id != user.id and user.role != Role.ADMIN:
        raise PermissionDenied(_("Only whoever made a segment (or an admin) may change it."))


def save_segment(user: User, values: Any, segment_id: int | None = None) -> Segment:
    """Create or update a segment from a form; the filters are validated before any write."""
    name = str(values.get("name") or "").strip()
    if not name:
        raise ValidationError("name", _("is required"))
    if len(name) > 120:
        raise ValidationError("name", _("is longer than 120 characters"))
    description = str(values.get("description") or "").strip()[:2000] or None
    filters = SegmentFilters.parse(values)
    shared = str(values.get("shared") or "").lower() in {"1", "on", "true", "yes"}
    if segment_id is None:
        segment = Segment(created_by_id=user.id)
        db.session.add(segment)
        before: dict[str, Any] = {}
    else:
        segment = get_segment_or_404(segment_id, user)
        _editable(segment, user)
        before = audit.snapshot(segment, ("name", "description", "filters", "shared"))
    segment.name = name
    segment.description = description
    segment.filters = filters.to_json()
    segment.shared = shared
    segment.updated_at = utcnow()
    db.session.flush()
    after = audit.snapshot(segment, ("name", "description", "filters", "shared"))
    audit.record_changes(user, "segment", segment.id, before, after,
                         action="create" if segment_id is None else "update")
    db.session.flush()
    return segment


def delete_segment(user: User, segment_id: int) -> None:
    segment = get_segment_or_404(segment_id, user)
    _editable(segment, user)
    audit.record(user, "segment", segment.id, "delete", {"name": segment.name})
    db.session.delete(segment)
    db.session.flush()


# -- using a segment ----------------------------------------


def segment_accounts(ids: list[int], *, limit: int | None = None) -> list[Account]:
    """The accounts for ids already scoped (by :func:`evaluate`), by name."""
    out: list[Account] = []
    chunk = 900  # below SQLite's bound-parameter limit
    for start in range(0, len(ids), chunk):
        out.extend(db.session.scalars(
            select(Account)
            .options(selectinload(Account.territory), selectinload(Account.owner))
            .where(Account.id.in_(ids[start:start + chunk]))
        ))
    out.sort(key=lambda a: (a.name.lower(), a.id))
    return out[:limit] if limit is not None else out


CSV_COLUMNS = (
    "id", "name", "address", "city", "postcode", "country", "phone", "email", "website",
    "stage", "territory", "owner", "lat", "lon", "value", "cadence_days", "last_visit_at",
    "tags",
)


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV lines (header first) with every cell made spreadsheet-safe."""
    buf = io.StringIO()
    writer = SafeWriter(buf)
    writer.writerow(header)
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(row)
        yield buf.getvalue()


def accounts_csv(accounts: Iterable[Account]) -> Iterator[str]:
    rows = (
        (
            a.id, a.name, a.address, a.city, a.postcode, a.country, a.phone, a.email, a.website,
            a.stage, a.territory.name if a.territory else "", a.owner.name if a.owner else "",
            a.lat, a.lon, a.value, a.cadence_days, a.last_visit_at, ";".join(a.tag_names),
        )
        for a in accounts
    )
    return csv_text(CSV_COLUMNS, rows)


def record_campaign_responses(user: User, segment_id: int, values: Any) -> int:
    """Record a campaign's answers as ``campaign_response`` interactions, all or nothing.

    ``values``: ``campaign`` (name), ``outcome`` (one of :data:`CAMPAIGN_OUTCOMES`),
    ``notes``, ``occurred_at`` (a date, default today) and ``account_ids`` (each must be
    in the segment as this user sees it).
    """
    ids = set(segment_account_ids(segment_id, user))
    campaign = str(values.get("campaign") or "").strip()
    if not campaign:
        raise ValidationError("campaign", _("is required"))
    if len(campaign) > 120:
        raise ValidationError("campaign", _("is longer than 120 characters"))
    outcome = str(values.get("outcome") or "").strip()
    if outcome not in CAMPAIGN_OUTCOMES:
        raise ValidationError("outcome", _(
            "must be one of %(values)s", values=', '.join(CAMPAIGN_OUTCOMES)))
    notes = str(values.get("notes") or "").strip()[:3000]
    raw_at = str(values.get("occurred_at") or "").strip()
    try:
        at = datetime.fromisoformat(raw_at) if raw_at else utcnow()
    except ValueError as exc:
        raise ValidationError("occurred_at", _(
            "not a date: %(value)s", value=repr(raw_at))) from exc
    raw_ids = values.getlist("account_ids") if hasattr(values, "getlist") else values.get(
        "account_ids", [])
    chosen: list[int] = []
    for raw in raw_ids:
        try:
            account_id = int(raw)
        except (TypeError, ValueError) as exc:
            raise ValidationError("account_ids", _(
                "not an id: %(value)s", value=repr(raw))) from exc
        if account_id not in ids:
            raise ValidationError("account_ids", _(
                "account %(id)s is not in this segment", id=account_id))
        if account_id not in chosen:
            chosen.append(account_id)
    if not chosen:
        raise ValidationError("account_ids", _("pick at least one account"))
    text = f"Campaign: {campaign}" + (f"\n{notes}" if notes else "")
    for account_id in chosen:
        db.session.add(Interaction(
            uuid=str(uuidlib.uuid4()), user_id=user.id, account_id=account_id,
            kind=InteractionKind.CAMPAIGN_RESPONSE, occurred_at=at.replace(tzinfo=None),
            outcome=outcome, notes=text,
        ))
    db.session.flush()
    return len(chosen)


def filter_choices(user: User) -> dict[str, Any]:
    """Territories and tags the segment form offers this user."""
    territories = db.session.execute(
        scope_territories(select(Territory.id, Territory.name), user).order_by(Territory.name)
    ).all()
    tagged = scope_accounts(
        select(Tag.name).join(account_tags, account_tags.c.tag_id == Tag.id)
        .join(Account, Account.id == account_tags.c.account_id), user
    ).distinct().order_by(Tag.name)
    return {
        "territories": [(int(i), str(n)) for i, n in territories],
        "tags": list(db.session.scalars(tagged)),
        "stages": [s.value for s in Stage],
    }
