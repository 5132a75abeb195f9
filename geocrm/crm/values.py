"""What the CRM pages accept: outcomes, stages, limits, and parsers that name the bad field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from geocrm.errors import ValidationError
from geocrm.models import (
    InteractionKind,
    OpportunityStage,
)
from geocrm.models.activity import VISIT_OUTCOMES

# The field app's outcomes, plus what a campaign answer can be.
OUTCOMES = VISIT_OUTCOMES
DESK_KINDS = (
    InteractionKind.CALL,
    InteractionKind.EMAIL,
    InteractionKind.NOTE,
    InteractionKind.VISIT,
    InteractionKind.CAMPAIGN_RESPONSE,
)
OPEN_STAGES = (OpportunityStage.QUALIFY, OpportunityStage.PROPOSAL, OpportunityStage.NEGOTIATION)
CLOSED_STAGES = (OpportunityStage.WON, OpportunityStage.LOST)
TIMELINE_PAGE = 100
MAX_TEXT = 4000
# A check-in is "verified" when the phone's fix was this good; it may move the pin when the
# pin is at least PIN_MIN_OFFSET_M away (closer is GPS noise) and at most PIN_MAX_OFFSET_M
# (farther, the rep more likely checked in at the wrong account than the pin being wrong).
PIN_MAX_ACCURACY_M = 50.0
PIN_MIN_OFFSET_M = 30.0
PIN_MAX_OFFSET_M = 2000.0
FIELD_KEY = re.compile(r"^[\w][\w .\-]{0,39}$", re.UNICODE)
MAX_CUSTOM_FIELDS = 50


# -- small parsers: every error names its field ---------------------------------------------


def text_value(values: Mapping[str, Any], name: str, *, required: bool = False,
               max_len: int = MAX_TEXT) -> str | None:
    """Stripped text or ``None``; too long or missing-but-required is a 422 naming ``name``."""
    raw = values.get(name)
    text = str(raw).strip() if raw is not None else ""
    if not text:
        if required:
            raise ValidationError(name, "is required")
        return None
    if len(text) > max_len:
        raise ValidationError(name, f"is longer than {max_len} characters")
    return text


def date_value(values: Mapping[str, Any], name: str, *, required: bool = False) -> date | None:
    """An ISO date (``YYYY-MM-DD``)."""
    raw = values.get(name)
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    text = str(raw).strip() if raw is not None else ""
    if not text:
        if required:
            raise ValidationError(name, "is required")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(name, f"not a date (YYYY-MM-DD): {text!r}") from exc


def datetime_value(values: Mapping[str, Any], name: str) -> datetime | None:
    """An ISO date-time (``YYYY-MM-DDTHH:MM``), read as naive UTC; a bare date is midnight."""
    raw = values.get(name)
    if isinstance(raw, datetime):
        return raw.replace(tzinfo=None)
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time())
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError as exc:
        raise ValidationError(name, f"not a date and time: {text!r}") from exc


def int_value(values: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    raw = values.get(name)
    if raw is None or str(raw).strip() == "":
        if required:
            raise ValidationError(name, "is required")
        return None
    try:
        return int(str(raw).strip())
    except ValueError as exc:
        raise ValidationError(name, f"not a whole number: {raw!r}") from exc


def money_value(values: Mapping[str, Any], name: str) -> Decimal | None:
    """A non-negative amount with at most 2 decimals and 12 digits before the point."""
    raw = values.get(name)
    text = str(raw).strip().replace(" ", "").replace(",", ".") if raw is not None else ""
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(name, f"not a number: {raw!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError(name, "must be zero or more")
    if amount >= Decimal("1e12"):
        raise ValidationError(name, "is too large")
    return amount.quantize(Decimal("0.01"))


def enum_value(values: Mapping[str, Any], name: str, enum_cls: Any, default: Any = None) -> Any:
    raw = values.get(name)
    if raw is None or str(raw).strip() == "":
        if default is None:
            raise ValidationError(name, "is required")
        return default
    try:
        return enum_cls(str(raw).strip())
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum_cls)
        raise ValidationError(name, f"must be one of {allowed}") from exc
