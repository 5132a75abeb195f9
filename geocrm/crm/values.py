"""What the CRM pages accept: outcomes, stages, limits, and parsers that name the bad field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from geocrm import params
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
# A low-confidence pin (the geocoder found only the street, postcode or town) may be off by
# kilometres, and any verified check-in there is better than it: offered from 0 m up to this.
PIN_MAX_OFFSET_LOW_M = 20000.0
FIELD_KEY = re.compile(r"^[\w][\w .\-]{0,39}$", re.UNICODE)
MAX_CUSTOM_FIELDS = 50


# -- small parsers: every error names its field ---------------------------------------------


def text_value(values: Mapping[str, Any], name: str, *, required: bool = False,
               max_len: int = MAX_TEXT) -> str | None:
    """Stripped text or ``None`` (:func:`geocrm.params.to_text`)."""
    return params.to_text(values.get(name), name, required=required, max_len=max_len)


def date_value(values: Mapping[str, Any], name: str, *, required: bool = False) -> date | None:
    """An ISO date (``YYYY-MM-DD``) (:func:`geocrm.params.to_date`)."""
    raw = values.get(name)
    if isinstance(raw, datetime):
        raw = str(raw)  # a date-time is not a date: let the reader refuse it by name
    if required:
        return params.need_date(raw, name)
    return params.to_date(raw, name, default=None)


def datetime_value(values: Mapping[str, Any], name: str) -> datetime | None:
    """An ISO date-time, naive UTC (:func:`geocrm.params.to_datetime`)."""
    return params.to_datetime(values.get(name), name)


def int_value(values: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    """A whole number (:func:`geocrm.params.to_int`)."""
    return params.to_int(values.get(name), name, default=params.REQUIRED if required else None)


def money_value(values: Mapping[str, Any], name: str) -> Decimal | None:
    """A non-negative amount with 2 decimals (:func:`geocrm.params.to_money`)."""
    return params.to_money(values.get(name), name)


def enum_value(values: Mapping[str, Any], name: str, enum_cls: Any, default: Any = None) -> Any:
    """A member of ``enum_cls`` (:func:`geocrm.params.to_enum`)."""
    return params.to_enum(values.get(name), name, enum_cls, default)
