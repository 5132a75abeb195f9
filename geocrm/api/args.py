"""Query-string values of the JSON API: one reading of a number, one message for a bad one.

A missing or empty value takes the default; anything else must parse and lie in range, or the
request fails with a 422 problem that names the parameter.
"""

from __future__ import annotations

from flask import request

from geocrm.errors import ValidationError


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """``request.args[name]`` as a whole number in ``lo..hi`` (``default`` when absent)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValidationError(name, f"not a whole number: {raw!r}") from exc
    if not lo <= value <= hi:
        raise ValidationError(name, f"must be between {lo} and {hi}")
    return value


def float_arg(name: str, lo: float, hi: float, default: float | None = None) -> float:
    """``request.args[name]`` as a number in ``lo..hi``; required when ``default`` is None."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ValidationError(name, "is required")
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValidationError(name, f"not a number: {raw!r}") from exc
    if not lo <= value <= hi:
        raise ValidationError(name, f"must be between {lo} and {hi}")
    return value
