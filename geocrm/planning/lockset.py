"""A run's locks as plain data, shared by the request (which stores them for a re-run), the
planning job (which applies them) and :mod:`geocrm.planning.locks` (the rules). Its own
module so that none of those has to import another to read them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from geocrm.errors import ValidationError
from geocrm.models import RoutePlan


@dataclass(frozen=True)
class RunLocks:
    """A run's locks as the re-run reads them: account id → (rep id, day, stop number),
    and the (rep id, day) whose whole route is locked."""

    positions: Mapping[int, tuple[int, date, int]]
    routes: frozenset[tuple[int, date]]

    def to_json(self) -> dict[str, Any]:
        return {"positions": {str(a): {"rep_id": r, "date": d.isoformat(), "position": p}
                              for a, (r, d, p) in sorted(self.positions.items())},
                "routes": [{"rep_id": r, "date": d.isoformat()} for r, d in sorted(self.routes)]}

    @classmethod
    def from_json(cls, data: Any) -> RunLocks:
        """Stored locks back (a wrong value is a ValidationError naming ``locks``)."""
        if not data:
            return cls({}, frozenset())
        try:
            positions = {int(k): (int(v["rep_id"]), date.fromisoformat(v["date"]),
                                  int(v["position"]))
                         for k, v in (data.get("positions") or {}).items()}
            routes = frozenset((int(v["rep_id"]), date.fromisoformat(v["date"]))
                               for v in data.get("routes") or [])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValidationError("locks", f"cannot be read ({exc})") from None
        if any(p < 1 for _, _, p in positions.values()):
            raise ValidationError("locks", "a stop number must be 1 or more")
        return cls(positions, routes)


def run_locks(plans: Sequence[RoutePlan]) -> RunLocks:
    """The locks set on a run's draft plans: every stop of a locked route, numbered in its
    order, and every stop locked at its place."""
    positions: dict[int, tuple[int, date, int]] = {}
    routes: set[tuple[int, date]] = set()
    for p in plans:
        stops = sorted(p.stops, key=lambda s: s.seq)
        if p.route_locked:
            routes.add((p.rep_id, p.plan_date))
        for i, s in enumerate(stops, start=1):
            if p.route_locked or s.position_locked:
                positions[s.account_id] = (p.rep_id, p.plan_date, i)
    return RunLocks(positions, frozenset(routes))
