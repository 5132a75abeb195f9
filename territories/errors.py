"""Errors of the territories library; each names the feature, row or option at fault."""

from __future__ import annotations

from typing import Any


class TerritoryError(Exception):
    """Root of the library's errors.

    The message is English; ``code`` and ``params`` (when given) say the same for an app that
    shows it in its reader's language, as :class:`territories.notes.Note` does for notes.
    """

    def __init__(self, message: str, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class CRSError(TerritoryError):
    """A missing, mismatched or implausible coordinate reference system."""


class GeometryError(TerritoryError):
    """Geometry that cannot be used, even after repair."""
