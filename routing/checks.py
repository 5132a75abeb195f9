"""Input checks shared by every public routing function.

OR-Tools works in integers and aborts the whole process on some bad inputs (a fleet of
zero vehicles is an internal CHECK, exit 134), and NaN compares false with everything, so
``not x < 0`` style tests let it through. Every public entry point therefore checks its
numbers here first and raises :class:`~routing.errors.ModelError` naming the field.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from routing.errors import ModelError


def number(where: str, field: str, value: object, *, minimum: float | None = None,
           positive: bool = False, maximum: float | None = None) -> float:
    """``value`` as a finite float, or a ModelError naming ``where.field``.

    ``minimum`` is inclusive; ``positive`` demands more than zero; ``maximum`` is inclusive.
    Booleans are not numbers here (``True`` seconds is a bug, not a second).
    """
    if isinstance(value, bool) or not isinstance(value, Real | np.integer | np.floating):
        raise ModelError(where, field, f"{value!r} is not a number")
    x = float(value)
    if not math.isfinite(x):
        raise ModelError(where, field, f"{value!r} is not a finite number")
    if positive and x <= 0:
        raise ModelError(where, field, f"{value!r} must be positive")
    if minimum is not None and x < minimum:
        raise ModelError(where, field, f"{value!r} must be at least {minimum:g}")
    if maximum is not None and x > maximum:
        raise ModelError(where, field, f"{value!r} must be at most {maximum:g}")
    return x


def seconds(where: str, field: str, value: object, *, minimum: float | None = 0,
            maximum: float | None = None) -> int:
    """A whole number of seconds (a float with a fraction is rounded), checked as ``number``."""
    return round(number(where, field, value, minimum=minimum, maximum=maximum))


def time_limit(value: object, field: str = "time_limit") -> float:
    """A search time limit: a finite number of seconds above zero."""
    return number("solve", field, value, positive=True)


def array(where: str, field: str, value: object, *, shape: tuple[int | None, ...],
          minimum: float | None = None) -> np.ndarray:
    """A finite numeric array of the given shape (None: any length), or a ModelError."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(where, field, f"is not numeric ({exc})") from None
    if arr.ndim != len(shape) or any(s is not None and s != a
                                     for s, a in zip(shape, arr.shape, strict=True)):
        want = " × ".join("n" if s is None else str(s) for s in shape)
        raise ModelError(where, field, f"has shape {arr.shape}, expected {want}")
    bad = ~np.isfinite(arr)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelError(where, field, f"row {at[0]} is not a finite number"
                         + (f" (position {at})" if len(at) > 1 else ""))
    if minimum is not None and (arr < minimum).any():
        at = tuple(int(i) for i in np.argwhere(arr < minimum)[0])
        raise ModelError(where, field, f"row {at[0]} is below {minimum:g}")
    return arr
