"""Account rules shared by pages, the JSON API, the CLI and jobs.

Every function takes the acting ``user`` and goes through :mod:`geocrm.access`, so a
caller cannot forget the scoping.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, func, or_, select

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.core import audit
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Contact,
    Interaction,
    Stage,
    Task,
    TaskStatus,
    User,
    utcnow,
)
from geocrm.spatial import SpatialRepository

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")
_LEGAL = re.compile(
    r"\b(oy|oyj|ab|ltd|llc|inc|gmbh|co|corp|company|the|ky|tmi|sa|srl|plc)\b", re.UNICODE
)


def normalise_name(name: str | None) -> str:
    """A key for duplicate detection: case, accents, punctuation and legal forms folded."""
    if not name:
        return ""
    if name.isascii():
        text = name.lower()
    else:
        text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = _PUNCT.sub(" ", text)
    text = _LEGAL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


_STREET = {
    "street": "st",
    "st.": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "katu": "k",
    "tie": "t",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}


def normalise_address(address: str | None) -> str | None:
    """A key for duplicate addresses: the name key, with common street words abbreviated."""
    if not address:
        return None
    words = normalise_name(address).split()
    return " ".join(_STREET.get(w, w) for w in words) or None


def check_coordinates(lat: Any, lon: Any, *, row: int | None = None) -> tuple[float, float] | None:
    """Parse and check a coordinate pair; both empty means 'no location yet'.

    Raises a :class:`ValidationError` naming the field for out-of-range values, and says
    when the pair is probably swapped (latitude out of range but longitude would fit).
    """
    if (lat is None or str(lat).strip() == "") and (lon is None or str(lon).strip() == ""):
        return None
    try:
        flat = float(str(lat).strip().replace(",", "."))
    except ValueError as exc:
        raise ValidationError("lat", f"not a number: {lat!r}", row=row) from exc
    try:
        flon = float(str(lon).strip().replace(",", "."))
    except ValueError as exc:
        raise ValidationError("lon", f"not a number: {lon!r}", row=row) from exc
    if flat != flat or flon != flon:
        raise ValidationError("lat", "not a number", row=row)
    if not -90 <= flat <= 90:
        if -90 <= flon <= 90 and -180 <= flat <= 180:
            raise ValidationError(
                "lat", f"{flat} is out of range; latitude and longitude look swapped", row=row
            )
        raise ValidationError("lat", f"{flat} is outside -90..90", row=row)
    if not -180 <= flon <= 180:
        raise ValidationError("lon", f"{flon} is outside -180..180", row=row)
    if flat == 0 and flon == 0:
        raise ValidationError("lat", "0,0 is not a real location (missing coordinates?)", row=row)
    return flat, flon


@dataclass
class AccountFilters:
    """What the list, the map and the API can filter on."""

    q: str = ""
    stages: list[str] = field(default_factory=list)
    territory_ids: list[int] = field(default_factory=list)
    owner_ids: list[int] = field(default_factory=list)
    unassigned: bool = False

    @classmethod
    def from_args(cls, args: Any) -> AccountFilters:
        """Parse request args; unknown stages or non-numeric ids are a 422 naming the field."""
        stages = [s for s in args.getlist("stage") if s]
        for s in stages:
            if s not in {m.value for m in Stage}:
                raise ValidationError("stage", f"unknown stage {s!r}")

        def ints(name: str) -> list[int]:
            out = []
            for v in args.getlist(name):
                if v == "":
                    continue
                try:
                    out.append(int(v))
                except ValueError as exc:
                    raise ValidationError(name, f"not an id: {v!r}") from exc
            return out

        return cls(
            q=(args.get("q") or "").strip()[:100],
            stages=stages,
            territory_ids=ints("territory"),
            owner_ids=ints("owner"),
            unassigned=args.get("unassigned") in {"1", "true", "on"},
        )

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.q:
            like = f"%{self.q.lower()}%"
            stmt = stmt.where(
                or_(func.lower(Account.name).like(like), func.lower(Account.address).like(like))
            )
        if self.stages:
            stmt = stmt.where(Account.stage.in_([Stage(s) for s in self.stages]))
        if self.territory_ids or self.unassigned:
            conds = []
            if self.territory_ids:
                conds.append(Account.territory_id.in_(self.territory_ids))
            if self.unassigned:
                conds.append(Account.territory_id.is_(None))
            stmt = stmt.where(or_(*conds))
        if self.owner_ids:
            stmt = stmt.where(Account.owner_id.in_(self.owner_ids))
        return stmt


def list_accounts(
    user: User, filters: AccountFilters, *, page: int = 1, per_page: int = 50
) -> tuple[list[Account], int]:
    """One page of the accounts ``user`` may see, and the total count."""
    stmt = filters.apply(visible_accounts(user).where(Account.archived.is_(False)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Account.name, Account.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), int(total)


@dataclass
class AccountDetail:
    account: Account
    interactions: list[Interaction]
    open_tasks: list[Task]


def account_detail(account_id: int, user: User) -> AccountDetail:
    """The account card: the account, its recent interactions and open tasks."""
    account = get_account_or_404(account_id, user)
    interactions = db.session.scalars(
        select(Interaction)
        .where(Interaction.account_id == account.id)
        .order_by(Interaction.occurred_at.desc())
        .limit(50)
    ).all()
    tasks = db.session.scalars(
        select(Task)
        .where(Task.account_id == account.id, Task.status == TaskStatus.OPEN)
        .order_by(Task.due_date)
    ).all()
    return AccountDetail(account, list(interactions), list(tasks))


# Fields whose changes the audit trail records (the editable ones and what follows them).
AUDITED = (
    "name",
    "address",
    "city",
    "postcode",
    "phone",
    "email",
    "website",
    "stage",
    "opening_hours",
    "visit_minutes",
    "cadence_days",
    "priority",
    "value",
    "lat",
    "lon",
    "location_source",
    "location_confidence",
    "territory_id",
    "owner_id",
    "category",
    "custom_fields",
    "archived",
)

EDITABLE = (
    "name",
    "address",
    "city",
    "postcode",
    "phone",
    "email",
    "website",
    "stage",
    "opening_hours",
    "visit_minutes",
    "cadence_days",
    "priority",
    "value",
    "lat",
    "lon",
)


def update_account(account_id: int, user: User, values: dict[str, Any]) -> Account:
    """Apply an edit, validate every field, re-place the account if it moved, audit it.

    Nothing is written when a field is invalid: the error names it.
    """
    account = get_account_or_404(account_id, user)
    clean: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in EDITABLE:
            raise ValidationError(key, "is not an editable field")
        clean[key] = raw
    if "name" in clean:
        name = (clean["name"] or "").strip()
        if not name:
            raise ValidationError("name", "is required")
        clean["name"] = name[:200]
    if "stage" in clean:
        try:
            clean["stage"] = Stage(clean["stage"])
        except ValueError as exc:
            raise ValidationError("stage", f"unknown stage {clean['stage']!r}") from exc
    for key, lo, hi in (("visit_minutes", 1, 600), ("cadence_days", 1, 730), ("priority", 1, 5)):
        if key in clean and clean[key] not in (None, ""):
            try:
                clean[key] = int(clean[key])
            except (TypeError, ValueError) as exc:
                raise ValidationError(key, "must be a whole number") from exc
            if not lo <= clean[key] <= hi:
                raise ValidationError(key, f"must be between {lo} and {hi}")
        elif key in clean:
            clean[key] = None if key == "cadence_days" else getattr(account, key)
    if "value" in clean:
        raw = clean["value"]
        try:
            clean["value"] = None if raw in (None, "") else Decimal(str(raw))
        except InvalidOperation as exc:
            raise ValidationError("value", "must be a number") from exc
    if "lat" in clean or "lon" in clean:
        coords = check_coordinates(clean.get("lat", account.lat), clean.get("lon", account.lon))
        clean["lat"], clean["lon"] = coords if coords else (None, None)
    before = audit.snapshot(account, AUDITED)
    changes: dict[str, Any] = {}
    for key, value in clean.items():
        old = getattr(account, key)
        if old != value:
            changes[key] = [_jsonable(old), _jsonable(value)]
            setattr(account, key, value)
    if not changes:
        return account
    if "name" in changes:
        account.name_key = normalise_name(account.name)
    if "address" in changes:
        account.address_key = normalise_address(account.address)
    if "lat" in changes or "lon" in changes:
        account.location_source = "manual"
        territory = SpatialRepository(db.session).territory_for(account.lat, account.lon)
        new_territory = territory.id if territory else None
        if new_territory != account.territory_id:
            # Another territory is another owner: the assignment history records it (as a
            # pin correction from a check-in does), so Account 360 says since when and why.
            from geocrm.territory_admin.services import record_moves

            db.session.flush()  # record_moves expires the session: write the edit first
            record_moves([(account.id, account.territory_id, new_territory)], user_id=user.id,
                         reason="pin moved by hand", now=utcnow())
            db.session.refresh(account)
    account.version = (account.version or 1) + 1
    account.updated_at = utcnow()
    # Field-level trail, including what the edit moved with it (e.g. the territory).
    audit.record_changes(user, "account", account.id, before, audit.snapshot(account, AUDITED))
    db.session.commit()
    return account


def add_contact(account_id: int, user: User, values: dict[str, Any]) -> Contact:
    """Add a person to an account the user may see."""
    account = get_account_or_404(account_id, user)
    name = (values.get("name") or "").strip()
    if not name:
        raise ValidationError("name", "is required")
    email = (values.get("email") or "").strip() or None
    if email and "@" not in email:
        raise ValidationError("email", "must be an email address")
    contact = Contact(
        account_id=account.id,
        name=name[:120],
        title=(values.get("title") or None),
        phone=(values.get("phone") or None),
        email=email,
    )
    db.session.add(contact)
    db.session.commit()
    return contact


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
