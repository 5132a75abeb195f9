"""Skills and vehicles: what a rep can do, what a visit needs, and how fast a rep travels.

Skills are free tags ("forklift", "한국어", "日本語") kept as one line of text, "forklift,
한국어": the same column type on both engines, an import cell or a form field as they are,
and a re-import compares them as text. :func:`clean_skills` is the one rule for the rep's
profile, the account form, the API and the import; tags are compared case-insensitively
(:func:`skill_keys`), every script kept, so "Forklift" on an account is met by a rep's
"forklift".

A rep's vehicle sets the speed the planner drives them at (:func:`rep_speed_kmh`). The car
is ``routing``'s default speed, so a car rep's plans are what they were before vehicles
existed; slower vehicles take longer on every trip (see :mod:`geocrm.region.travel`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from geocrm.errors import ValidationError

MAX_LENGTH = 300  # the column (users.skills, accounts.required_skills)
MAX_TAG = 40
# Commas in every width (NFKC makes "，" a comma), the Japanese 、, semicolons, bars, lines.
_SEPARATORS = re.compile(r"[,;|、\n\r]+")

#: The vehicles a rep may have, with the speed the planner uses for each (km/h). The car's
#: is ``routing.Rep``'s default: on a loaded region a car drives at the roads' own speeds.
VEHICLE_KMH: dict[str, float] = {"car": 30.0, "bike": 15.0, "foot": 5.0}
VEHICLE_LABELS = {"car": _l("Car"), "bike": _l("Bike"), "foot": _l("On foot")}
CAR_KMH = VEHICLE_KMH["car"]
MIN_KMH, MAX_KMH = 1.0, 130.0


def _tags(raw: Any) -> list[str]:
    if isinstance(raw, str):
        parts: Iterable[Any] = _SEPARATORS.split(unicodedata.normalize("NFKC", raw))
    elif isinstance(raw, list | tuple | set | frozenset):
        parts = (unicodedata.normalize("NFKC", str(p)) for p in raw)
    else:
        raise ValidationError("skills", _("must be a string"))
    seen: dict[str, str] = {}
    for part in parts:
        tag = " ".join(str(part).split())
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())


def clean_skills(name: str, raw: Any) -> str | None:
    """Tags as stored: NFKC, single spaces, duplicates (ignoring case) dropped, in the order
    given, joined by ", "; blank is ``None``. Raises :class:`ValidationError` naming ``name``
    for a tag longer than 40 characters or a list longer than the column."""
    if raw is None:
        return None
    try:
        tags = _tags(raw)
    except ValidationError as err:
        raise ValidationError(name, err.reason) from err
    for tag in tags:
        if len(tag) > MAX_TAG:
            raise ValidationError(name, _("%(tag)s is longer than %(limit)s characters",
                                          tag=repr(tag), limit=MAX_TAG))
    text = ", ".join(tags)
    if len(text) > MAX_LENGTH:
        raise ValidationError(name, _("is longer than %(limit)s characters", limit=MAX_LENGTH))
    return text or None


def skill_keys(text: str | None) -> frozenset[str]:
    """The tags of stored text as compared: case-folded (what the planner matches on)."""
    if not text:
        return frozenset()
    return frozenset(t.casefold() for t in _tags(text))


def clean_vehicle(vehicle: str | None, speed_kmh: float | None) -> tuple[str, float | None]:
    """A vehicle and an optional own speed, checked: the vehicle one of :data:`VEHICLE_KMH`
    (blank: car), the speed a finite number of km/h between 1 and 130, or ``None``."""
    vehicle = (vehicle or "car").strip().lower()
    if vehicle not in VEHICLE_KMH:
        raise ValidationError("vehicle", _("must be one of %(vehicles)s",
                                           vehicles=", ".join(VEHICLE_KMH)))
    if speed_kmh is not None and not MIN_KMH <= speed_kmh <= MAX_KMH:  # NaN fails this too
        raise ValidationError("speed_kmh", _("must be between %(lo)s and %(hi)s km/h",
                                             lo=int(MIN_KMH), hi=int(MAX_KMH)))
    return vehicle, speed_kmh


def rep_speed_kmh(vehicle: str | None, speed_kmh: float | None) -> float:
    """The speed the planner drives a rep at: their own speed if set, else their vehicle's."""
    if speed_kmh:
        return float(speed_kmh)
    return VEHICLE_KMH.get(vehicle or "car", CAR_KMH)
