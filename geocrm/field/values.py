"""The field API's small, strict JSON value readers: every error names the field.

The phone posts JSON (not form text), so these take a ``dict`` and refuse wrong types
outright instead of coercing them; a client time is clamped to the server clock.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import gettext as _

from geocrm.errors import ValidationError
from geocrm.models import utcnow

MAX_TEXT = 4000


def text_field(
    data: dict[str, Any], name: str, *, required: bool = False, max_len: int = MAX_TEXT
) -> str | None:
    """A trimmed string or ``None``; wrong types and over-long values name the field."""
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise ValidationError(name, _("is required"))
        return None
    if not isinstance(raw, str):
        raise ValidationError(name, _("must be a string"))
    value = raw.strip()
    if len(value) > max_len:
        raise ValidationError(name, _("is longer than %(num)s characters", num=max_len))
    return value


def number_field(
    data: dict[str, Any], name: str, lo: float, hi: float, *, required: bool = False
) -> float | None:
    """A finite JSON number within ``lo..hi`` (booleans and strings are refused)."""
    raw = data.get(name)
    if raw is None:
        if required:
            raise ValidationError(name, _("is required"))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValidationError(name, _("must be a number"))
    value = float(raw)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValidationError(name, _("must be between %(lo)s and %(hi)s", lo=lo, hi=hi))
    return value


def int_field(data: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    """A positive integer id."""
    raw = data.get(name)
    if raw is None:
        if required:
            raise ValidationError(name, _("is required"))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
        raise ValidationError(name, _("must be a positive whole number"))
    return raw


def uuid_field(data: dict[str, Any], name: str) -> str:
    """A client-generated UUID (the phone's id for the write)."""
    raw = data.get(name)
    if not isinstance(raw, str):
        raise ValidationError(name, _("is required (a UUID string)"))
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise ValidationError(name, _("is not a UUID")) from exc


def time_field(data: dict[str, Any], name: str) -> datetime:
    """Client time as naive UTC; missing means now, and a phone clock ahead is clamped."""
    raw = data.get(name)
    now = utcnow()
    if raw is None:
        return now
    if not isinstance(raw, str):
        raise ValidationError(name, _("must be an ISO 8601 timestamp"))
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(name, _("is not an ISO 8601 timestamp")) from exc
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value.year < 2000:
        raise ValidationError(name, _("is before 2000"))
    # Phones drift; a write cannot come from the future, so the server clock caps it.
    return min(value, now)


def date_field(data: dict[str, Any], name: str) -> date | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise ValidationError(name, _("must be a date (YYYY-MM-DD)"))
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(name, _("is not a date (YYYY-MM-DD)")) from exc
