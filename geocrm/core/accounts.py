"""The account's field rules, and moving its pin: one place for every door.

The web form, the JSON API's PATCH, the phone's sync batch, the CSV import and the merge
all hand raw values to :func:`clean_field` / :func:`clean_values`, so the same input gets
the same verdict and the same message whichever way it came in (``tests/geocrm/core``
feeds one table through all of them). A bad value raises :class:`ValidationError` naming
the field; blank values clean to ``None`` ("no value"), and what ``None`` means is the
door's business (an edit leaves a required number as it was, an import never erases).

:func:`move_pin` is the one way an account changes place: the pin and where it came
from, the territory it now falls in (with the assignment history row saying who and why)
and the audit entry. Edits, check-in pin corrections and merges call it; the import
re-places thousands of pins at once with the same rule in bulk
(:func:`geocrm.core.assignment.moves_for_points` + :func:`~geocrm.core.assignment.record_moves`).

Nothing here commits: the entry point does (:mod:`geocrm.core.transaction`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _

from geocrm.core import audit
from geocrm.core.addresses import (
    PARTS,
    STRUCTURED,
    Address,
    address_line,
    country_code,
    format_lines,
    format_one_line,
    guess_country,
    parse_address,
)
from geocrm.core.assignment import record_moves, territory_at
from geocrm.core.hours import opening_hours_error

# The comparison keys live in geocrm.core.names; re-exported here for the account rules' users.
from geocrm.core.names import normalise_address as normalise_address
from geocrm.core.names import normalise_name as normalise_name
from geocrm.core.names import normalise_reading
from geocrm.core.skills import clean_skills
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, Stage, User, utcnow
from geocrm.webhooks import events as webhooks

# -- the field rules ----------------------------------------------------------------------
#: Longest text each field stores (the column sizes of :class:`~geocrm.models.Account`).
TEXT_LIMITS: dict[str, int] = {
    "name": 200, "address": 300, "city": 120, "postcode": 20, "phone": 40, "email": 254,
    "website": 300, "opening_hours": 300, "category": 80, "external_id": 120,
    "region": 120, "district": 120, "street": 200, "housenumber": 60, "building": 200,
    "name_reading": 200,
}
#: Whole-number fields and their inclusive ranges.
INT_RANGES: dict[str, tuple[int, int]] = {
    "visit_minutes": (1, 600), "cadence_days": (1, 730), "priority": (1, 5),
}
#: Fields a person may edit (form, API PATCH, the phone's offline edit).
EDITABLE = (
    "name", "name_reading", "address", "country", "postcode", "region", "city", "district",
    "street", "housenumber", "building", "phone", "email", "website", "stage",
    "opening_hours", "visit_minutes", "cadence_days", "priority", "value", "lat", "lon",
    "required_skills",
)
#: ``value`` is NUMERIC(14, 2): twelve digits before the point.
MAX_VALUE = Decimal("999999999999.99")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_STAGES = {s.value: s for s in Stage}


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(name: str, raw: Any) -> str | None:
    # Text is the common case (every cell of an import): tested first, stripped once.
    if type(raw) is str:
        text = raw.strip()
    elif raw is None:
        return None
    elif isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise ValidationError(name, _("must be a string"))
    else:
        text = str(raw).strip()
    if not text:
        return None
    limit = TEXT_LIMITS[name]
    if len(text) > limit:
        raise ValidationError(name, _("is longer than %(limit)s characters", limit=limit))
    return text


def _name(name: str, raw: Any) -> str:
    text = _text(name, raw)
    if text is None:
        raise ValidationError(name, _("is required"))
    return text


def _email(name: str, raw: Any) -> str | None:
    text = _text(name, raw)
    if text is not None and not _EMAIL.match(text):
        raise ValidationError(name, _("is not an email address"))
    return text


def _hours(name: str, raw: Any) -> str | None:
    text = _text(name, raw)
    if text is not None:
        reason = opening_hours_error(text)
        if reason:
            raise ValidationError(name, reason)
    return text


def _country(name: str, raw: Any) -> str | None:
    text = _text_any(name, raw)
    if text is None:
        return None
    code = country_code(text)
    if code is None:
        raise ValidationError(
            name, _("unknown country %(value)r (a two-letter code such as KR, JP or FI)",
                    value=text))
    return code


def _text_any(name: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError(name, _("must be a string"))
    return raw.strip() or None


def _stage(name: str, raw: Any) -> Stage | None:
    if isinstance(raw, Stage):
        return raw
    if _blank(raw):
        return None
    text = str(raw).strip().lower()
    if text not in _STAGES:
        raise ValidationError(
            name, _("unknown stage %(value)r (%(allowed)s)", value=text, allowed=", ".join(_STAGES))
        )
    return _STAGES[text]


def _whole(name: str, raw: Any) -> int | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        raise ValidationError(name, _("must be a whole number"))
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    try:
        number = raw if isinstance(raw, int) else int(str(raw).strip())
    except ValueError as exc:
        raise ValidationError(name, _("must be a whole number")) from exc
    lo, hi = INT_RANGES[name]
    if not lo <= number <= hi:
        raise ValidationError(name, _("must be between %(lo)s and %(hi)s", lo=lo, hi=hi))
    return number


def _money(name: str, raw: Any) -> Decimal | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        raise ValidationError(name, _("must be a number"))
    text = str(raw).strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(name, _("must be a number")) from exc
    if not number.is_finite():
        raise ValidationError(name, _("must be a number"))
    if abs(number) > MAX_VALUE:
        raise ValidationError(
            name, _("must be at most %(max)s in size", max=format(MAX_VALUE, ","))
        )
    return number


def _coordinate(name: str, raw: Any) -> float | None:
    """A number; the range and the pair are :func:`check_coordinates`' business."""
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        raise ValidationError(name, _("not a number: %(value)r", value=raw))
    try:
        value = float(str(raw).strip().replace(",", "."))
    except ValueError as exc:
        raise ValidationError(name, _("not a number: %(value)r", value=raw)) from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(name, _("not a number"))
    return value


_RULES: dict[str, Callable[[str, Any], Any]] = {
    "name": _name,
    "address": _text, "city": _text, "postcode": _text, "phone": _text, "website": _text,
    "category": _text, "external_id": _text,
    "region": _text, "district": _text, "street": _text, "housenumber": _text, "building": _text,
    "name_reading": _text, "country": _country,
    "email": _email,
    "opening_hours": _hours,
    "stage": _stage,
    "visit_minutes": _whole, "cadence_days": _whole, "priority": _whole,
    "value": _money,
    "required_skills": clean_skills,
    "lat": _coordinate, "lon": _coordinate,
}
FIELDS = tuple(_RULES)


def clean_field(name: str, raw: Any) -> Any:
    """One field's raw value (text from a form or a file, JSON from the API) cleaned.

    Blank is ``None``; anything else is the stored type or a :class:`ValidationError`
    naming ``name``. Coordinates are checked as a pair by :func:`check_coordinates`.
    """
    rule = _RULES.get(name)
    if rule is None:
        raise ValidationError(name, _("is not an account field"))
    return rule(name, raw)


def clean_texts(name: str, cells: Sequence[str]) -> list[str | None] | None:
    """Many text cells of a plain text field (an address, a postcode, an external id)
    cleaned at once, as :func:`clean_field` cleans each: stripped, blank as None.

    None when ``name`` is not a plain text field or a cell is too long; the caller then
    judges cell by cell, which names the bad cells. An import's id and address columns
    have a distinct value in almost every row, so judging each distinct value once saves
    nothing there; this is one pass of C calls.
    """
    if _RULES.get(name) is not _text:
        return None
    stripped = list(map(str.strip, cells))
    if max(map(len, stripped), default=0) > TEXT_LIMITS[name]:
        return None
    return [text or None for text in stripped]


def check_coordinates(lat: Any, lon: Any, *, row: int | None = None) -> tuple[float, float] | None:
    """Parse and check a coordinate pair; both empty means 'no location yet'.

    Raises a :class:`ValidationError` naming the field for a missing half, a value that is
    not a number or is out of range, and says when the pair is probably swapped (latitude
    out of range but longitude would fit).
    """
    no_lat, no_lon = _blank(lat), _blank(lon)
    if no_lat and no_lon:
        return None
    if no_lat or no_lon:
        missing = "lat" if no_lat else "lon"
        raise ValidationError(
            missing, _("is missing while the other coordinate is given"), row=row
        )
    try:
        flat = _coordinate("lat", lat)
        flon = _coordinate("lon", lon)
    except ValidationError as err:
        raise ValidationError(err.field, err.reason, row=row) from err
    assert flat is not None and flon is not None  # neither is blank
    if not -90 <= flat <= 90:
        if -90 <= flon <= 90 and -180 <= flat <= 180:
            raise ValidationError(
                "lat",
                _("%(value)s is out of range; latitude and longitude look swapped", value=flat),
                row=row,
            )
        raise ValidationError("lat", _("%(value)s is outside -90..90", value=flat), row=row)
    if not -180 <= flon <= 180:
        raise ValidationError("lon", _("%(value)s is outside -180..180", value=flon), row=row)
    if flat == 0 and flon == 0:
        raise ValidationError(
            "lat", _("0,0 is not a real location (missing coordinates?)"), row=row
        )
    return flat, flon


def clean_values(
    values: Mapping[str, Any],
    *,
    allowed: tuple[str, ...] = EDITABLE,
    pin: tuple[float | None, float | None] = (None, None),
) -> dict[str, Any]:
    """Every given field cleaned; the first bad one raises, naming it.

    ``lat``/``lon`` are checked as a pair: a half that is not given is taken from ``pin``
    (the account's current one), so moving only the latitude is possible.
    """
    clean: dict[str, Any] = {}
    for key in values:
        if key not in allowed:
            raise ValidationError(key, _("is not an editable field"))
    for key, raw in values.items():
        if key not in ("lat", "lon"):
            clean[key] = clean_field(key, raw)
    if "lat" in values or "lon" in values:
        coords = check_coordinates(values.get("lat", pin[0]), values.get("lon", pin[1]))
        clean["lat"], clean["lon"] = coords if coords else (None, None)
    return clean


# -- the address: its parts and its one line -----------------------------------------------
#: The fields that make an account's address (see :mod:`geocrm.core.addresses`).
ADDRESS_FIELDS = ("address", "country", *PARTS)


def company_country() -> str | None:
    """The company's own country (``GEOCRM_COUNTRY``): the convention of an address whose
    account has no country and whose script does not say."""
    if not has_app_context():
        return None
    return country_code(current_app.config.get("GEOCRM_COUNTRY") or "")


def address_country(values: Mapping[str, Any]) -> str | None:
    """The country whose convention an account's address is written in: its own country,
    else what the script says (Hangul is Korean), else the company's."""
    return (values.get("country")
            # the region first: a line without it ("小黒町1丁目9-27") says nothing alone
            or guess_country(" ".join(str(values.get(k) or "") for k in (*PARTS, "address")))
            or company_country())


def settle_address(current: Mapping[str, Any], clean: dict[str, Any]) -> None:
    """Make an edit's address consistent: the one line and the parts never disagree.

    ``current`` is the account as it is, ``clean`` the cleaned edit (changed in place).
    When the edit changes a part (or the country) of an address that has parts, the one
    line ``address`` is made from them in the country's convention. When it changes only
    the one line, the line is kept as typed and split into parts
    (:func:`geocrm.core.addresses.parse_address`); a line that cannot be split leaves no
    parts behind that would contradict it. A legacy account (a line, no parts) keeps its
    line while only its city or postcode change.
    """
    def changed(key: str) -> bool:
        return key in clean and clean[key] != current.get(key)

    after = {k: clean[k] if k in clean else current.get(k) for k in ADDRESS_FIELDS}
    country = address_country(after)
    if changed("address") and not any(changed(p) for p in STRUCTURED):
        parsed = parse_address(after["address"], country) if after["address"] else None
        for part in STRUCTURED:
            value = getattr(parsed.parts, part) if parsed else None
            if value != current.get(part):
                clean[part] = _clip(part, value)
        if parsed:
            for part in ("city", "postcode"):
                value = getattr(parsed.parts, part)
                if value and not changed(part):
                    clean[part] = _clip(part, value)
            if not after["country"] and parsed.country in ("KR", "JP"):
                clean["country"] = parsed.country
        return
    parts = Address.from_mapping(after)
    if parts.structured and any(changed(p) for p in (*PARTS, "country")):
        clean["address"] = _clip("address", address_line(parts, country))


def new_address(row: dict[str, Any]) -> None:
    """A new account's (or an imported row's) address made consistent, in place.

    A given one line is kept as the file or the person wrote it, and the parts the row
    lacks are filled by splitting it, when it is written in a convention we can split (a
    Korean or Japanese line: Latin lines are left alone, which keeps the import of large
    Western files as fast as before). Parts without a line make the line.
    """
    line = row.get("address")
    if line:
        country = row.get("country") or (None if line.isascii() else address_country(row))
        if country in ("KR", "JP"):
            parsed = parse_address(line, country)
            if parsed is not None:
                for part in PARTS:
                    value = getattr(parsed.parts, part)
                    if value and not row.get(part):
                        row[part] = _clip(part, value)
                row["country"] = country
                # A line without the prefecture or city its file gives in their own columns
                # (Sabae's 住所 "小黒町1丁目9-27"): the whole line is made from the parts.
                if any(row.get(p) and getattr(parsed.parts, p) is None
                       for p in ("region", "city")):
                    row["address"] = _clip("address",
                                           address_line(Address.from_mapping(row), country))
        return
    if any(row.get(p) for p in STRUCTURED):  # most rows of a big file have none: no object
        row["address"] = _clip("address", address_line(Address.from_mapping(row),
                                                       address_country(row)))


def account_address(account: Any) -> dict[str, Any]:
    """The address fields of an account (or any object with them) as a dict."""
    return {k: getattr(account, k, None) for k in ADDRESS_FIELDS}


def display_lines(values: Mapping[str, Any]) -> list[str]:
    """An address as lines in its country's order; a legacy one (a line, no parts) as it
    always showed: the line, then postcode and city unless the line already names the city
    (Korean and Japanese lines do)."""
    parts = Address.from_mapping(values)
    if parts.structured:
        return format_lines(parts, address_country(values))
    line = values.get("address") or ""
    city = values.get("city")
    city = city if city and city not in line else None
    town = " ".join(t for t in (values.get("postcode"), city) if t)
    return [t for t in (line, town) if t]


def display_one_line(values: Mapping[str, Any]) -> str:
    """An address on one line, postcode and city included, in its country's order."""
    parts = Address.from_mapping(values)
    if parts.structured:
        return format_one_line(parts, address_country(values))
    return ", ".join(display_lines(values))


def _clip(name: str, value: str | None) -> str | None:
    """A value made by a rule (a split part, a composed line) within its column."""
    return value[:TEXT_LIMITS[name]] if value else None


def refresh_keys(account: Account) -> None:
    """The search and comparison keys of an edited account (name, address, reading)."""
    account.name_key = normalise_name(account.name)
    account.address_key = normalise_address(account.address)
    account.reading_key = normalise_reading(account.name_reading)


# -- moving the pin -----------------------------------------------------------------------
#: What a pin move changes (and what its audit entry shows).
PIN_FIELDS = ("lat", "lon", "location_source", "location_confidence", "territory_id")


def move_pin(
    account: Account,
    lat: float | None,
    lon: float | None,
    *,
    user: User | None,
    source: str | None,
    reason: str,
    confidence: float | None = None,
    now: datetime | None = None,
    audit_action: str | None = "pin",
    audit_extra: Mapping[str, Any] | None = None,
) -> Account:
    """Re-place ``account`` at ``lat``/``lon`` and give it the territory that covers it.

    ``source`` says where the pin came from (manual, checkin, import...), ``confidence``
    how sure it is (``None`` keeps the current one). If the territory changes, the
    assignment history closes the old row and opens one naming the territory, ``user``
    and ``reason``. The audit entry (``audit_action``, with ``audit_extra`` merged into its
    changes) records the pin fields; ``audit_action=None`` is for callers whose own entry
    already spans the whole change (an edit of several fields, a merge).

    Flushes (the history is written with bulk statements), never commits.
    """
    now = now or utcnow()
    before = audit.snapshot(account, PIN_FIELDS)
    account.lat, account.lon = lat, lon
    account.location_source = source
    if confidence is not None:
        account.location_confidence = confidence
    new_territory = territory_at(lat, lon)
    if new_territory != account.territory_id:
        # Another territory is another owner: the history says since when, by whom, why.
        db.session.flush()  # record_moves expires the session: write the pin first
        record_moves([(account.id, account.territory_id, new_territory)],
                     user_id=user.id if user is not None else None, reason=reason, now=now)
        db.session.refresh(account)
    if audit_action is not None:
        entry = audit.record_changes(user, "account", account.id, before,
                                     audit.snapshot(account, PIN_FIELDS), action=audit_action)
        if entry is not None and audit_extra:
            entry.changes = {**entry.changes, **audit_extra}
    return account


def touch(account: Account, now: datetime | None = None) -> None:
    """Mark an edit: a new version (the phone's sync compares it) and the change time."""
    account.version = (account.version or 1) + 1
    account.updated_at = now or utcnow()
    webhooks.emit_object("account.updated", account)


def announce_new(account: Account) -> None:
    """Tell the webhooks a new account exists (its creator calls this after the flush)."""
    webhooks.emit_object("account.created", account)
