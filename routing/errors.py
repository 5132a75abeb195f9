"""Errors of the routing library."""

from __future__ import annotations


class RoutingError(Exception):
    """Root of the library's errors."""


class ModelError(RoutingError, ValueError):
    """An invalid problem: names the object and field at fault."""

    def __init__(self, where: str, field: str, reason: str) -> None:
        super().__init__(f"{where}.{field}: {reason}")
        self.where = where
        self.field = field
        self.reason = reason
