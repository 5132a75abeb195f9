"""Reading values that arrive as text (query strings, forms, JSON job parameters): one family.

Every reader takes the raw value and the name of the field it came from, and either returns a
typed value or raises :class:`~geocrm.errors.ValidationError` naming that field, so a bad
``?limit=ten`` and a bad planner form field produce the same kind of 422 with the same
wording everywhere. The ``arg_*`` helpers read ``request.args`` for views and the API.

Why one module: there were eight private copies (``_int_arg``, ``_ints``, ``_date``,
``_date_arg``, ``_float`` …) whose messages and edge cases (blank, ``True`` as an id,
duplicates) had begun to drift apart.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from flask import request
from flask_babel import gettext as _

from geocrm.errors import ValidationError

T = TypeVar("T")


class _Required:
    """Marker: no default, so a missing value is an error."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()
_TRUE = frozenset({"1", "on", "true", "yes", "y", "t"})
_FALSE = frozenset({"0", "off", "false", "no", "n", "f", ""})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _in_range(value: T, field: str, lo: Any, hi: Any) -> T:
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise ValidationError(field, _("must be between %(lo)s and %(hi)s", lo=lo, hi=hi))
    if lo is not None and hi is None and value < lo:
        raise ValidationError(field, _("must be at least %(lo)s", lo=lo))
    if hi is not None and lo is None and value > hi:
        raise ValidationError(field, _("must be at most %(hi)s", hi=hi))
    return value


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a number (the CSV cell guard and the grid x/y check ask)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_int(value: Any, field: str, *, default: int | _Required | None = REQUIRED,
           lo: int | None = None, hi: int | None = None) -> int | None:
    """A whole number (``"12"``, ``12``); blank gives ``default``, or an error when required.

    ``True``/``False`` are refused: JSON ``true`` is not the id 1.
    """
    if _blank(value):
        if isinstance(default, _Required):
            raise ValidationError(field, _("is required"))
        return default
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValidationError(field, _("not a whole number: %(value)r", value=value))
    try:
        number = int(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, _("not a whole number: %(value)r", value=value)) from exc
    return _in_range(number, field, lo, hi)


def need_int(value: Any, field: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """:func:`to_int` for a value that must be there (typed ``int``, never ``None``)."""
    number = to_int(value, field, lo=lo, hi=hi)
    assert number is not None
    return number


def to_float(value: Any, field: str, *, default: float | _Required | None = REQUIRED,
             lo: float | None = None, hi: float | None = None) -> float | None:
    """A finite number; blank gives ``default``, or an error when required."""
    if _blank(value):
        if isinstance(default, _Required):
            raise ValidationError(field, _("is required"))
        return default
    if isinstance(value, bool):
        raise ValidationError(field, _("not a number: %(value)r", value=value))
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, _("not a number: %(value)r", value=value)) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(field, _("not a number: %(value)r", value=value))
    return _in_range(number, field, lo, hi)


def to_date(value: Any, field: str, *, default: date | _Required | None = REQUIRED) -> date | None:
    """An ISO date (``YYYY-MM-DD``) or a ``date``; blank gives ``default`` or an error."""
    if isinstance(value, date):
        return value
    if _blank(value):
        if isinstance(default, _Required):
            raise ValidationError(field, _("is required (YYYY-MM-DD)"))
        return default
    if not isinstance(value, str):
        raise ValidationError(field, _("%(value)r is not a date (YYYY-MM-DD)", value=value))
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError(
            field, _("%(value)r is not a date (YYYY-MM-DD)", value=value)
        ) from exc


def need_date(value: Any, field: str) -> date:
    """:func:`to_date` for a date that must be there."""
    day = to_date(value, field)
    assert day is not None
    return day


def to_ids(values: Iterable[Any] | None, field: str) -> tuple[int, ...]:
    """Positive whole-number ids, blanks skipped, duplicates dropped, order kept.

    A single value that is not a list (a JSON string or number) is refused rather than
    iterated character by character.
    """
    if values is None:
        return ()
    if isinstance(values, str | bytes | int | float | dict):
        raise ValidationError(field, _("must be a list of ids"))
    out: list[int] = []
    for value in values:
        if _blank(value):
            continue
        if isinstance(value, bool):
            raise ValidationError(field, _("%(value)r is not an id", value=value))
        try:
            number = int(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(field, _("%(value)r is not an id", value=value)) from exc
        if number < 1:
            raise ValidationError(field, _("%(value)r is not an id", value=value))
        out.append(number)
    return tuple(dict.fromkeys(out))


def to_bool(value: Any, field: str, *, strict: bool = False) -> bool:
    """A yes/no: JSON ``true``/``false`` or form text (``1/on/true/yes``, ``0/off/false/no``).

    ``strict``: only ``True``/``False`` (stored JSON, where text means something went wrong).
    """
    if isinstance(value, bool):
        return value
    if strict:
        raise ValidationError(field, _("%(value)r is not true or false", value=value))
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValidationError(field, _("%(value)r is not true or false", value=value))


def to_choice(value: Any, field: str, choices: Iterable[str], *,
              default: str | _Required | None = REQUIRED) -> str | None:
    """One of ``choices``; the message lists them."""
    allowed = list(choices)
    if _blank(value):
        if isinstance(default, _Required):
            raise ValidationError(
                field, _("is required (one of %(allowed)s)", allowed=", ".join(allowed))
            )
        return default
    text = str(value).strip()
    if text not in allowed:
        raise ValidationError(
            field, _("%(value)r is not one of %(allowed)s", value=text, allowed=", ".join(allowed))
        )
    return text


def to_text(value: Any, field: str, *, required: bool = False, max_len: int = 4000) -> str | None:
    """Stripped text or ``None``; too long, or missing when required, is an error."""
    text = str(value).strip() if value is not None else ""
    if not text:
        if required:
            raise ValidationError(field, _("is required"))
        return None
    if len(text) > max_len:
        raise ValidationError(field, _("is longer than %(limit)s characters", limit=max_len))
    return text


def to_datetime(value: Any, field: str) -> datetime | None:
    """An ISO date-time (``YYYY-MM-DDTHH:MM``) as naive UTC; a bare date is midnight; blank None.

    A value with an offset ("…T09:30+03:00") is converted to UTC, not stripped of it."""
    if isinstance(value, datetime):
        return _naive_utc(value)
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time())
        return _naive_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ValidationError(field, _("not a date and time: %(value)r", value=text)) from exc


def _naive_utc(moment: datetime) -> datetime:
    """With an offset: converted to UTC; without one: taken as UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def to_money(value: Any, field: str) -> Decimal | None:
    """A non-negative amount ("1 234,50" too) with 2 decimals and under 10¹² ; blank None."""
    text = str(value).strip().replace(" ", "").replace(",", ".") if value is not None else ""
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(field, _("not a number: %(value)r", value=value)) from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError(field, _("must be zero or more"))
    if amount >= Decimal("1e12"):
        raise ValidationError(field, _("is too large"))
    return amount.quantize(Decimal("0.01"))


E = TypeVar("E", bound=enum.Enum)


def to_enum(value: Any, field: str, enum_cls: type[E], default: E | None = None) -> E:
    """A member of ``enum_cls`` by value; blank gives ``default`` (required when there is none)."""
    if _blank(value):
        if default is None:
            raise ValidationError(field, _("is required"))
        return default
    try:
        return enum_cls(str(value).strip())
    except ValueError as exc:
        allowed = ", ".join(str(m.value) for m in enum_cls)
        raise ValidationError(field, _("must be one of %(allowed)s", allowed=allowed)) from exc


# -- request.args -----------------------------------------------------------------------------


def arg_int(name: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
    """``request.args[name]`` as a whole number in ``lo..hi`` (``default`` when absent)."""
    number = to_int(request.args.get(name), name, default=default, lo=lo, hi=hi)
    assert number is not None
    return number


def arg_float(name: str, lo: float | None = None, hi: float | None = None,
              default: float | _Required = REQUIRED) -> float:
    """``request.args[name]`` as a number in ``lo..hi``; required unless ``default`` is given."""
    number = to_float(request.args.get(name), name, default=default, lo=lo, hi=hi)
    assert number is not None
    return number


def arg_date(name: str, default: date) -> date:
    """``request.args[name]`` as an ISO date, ``default`` when absent."""
    day = to_date(request.args.get(name), name, default=default)
    assert day is not None
    return day
