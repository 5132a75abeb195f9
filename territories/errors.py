"""Errors of the territories library; each names the feature, row or option at fault."""

from __future__ import annotations


class TerritoryError(Exception):
    """Root of the library's errors."""


class CRSError(TerritoryError):
    """A missing, mismatched or implausible coordinate reference system."""


class GeometryError(TerritoryError):
    """Geometry that cannot be used, even after repair."""
