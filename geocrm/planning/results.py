"""What a planning run answered, as one typed value stored in ``PlanRun.result``.

The job builds one :class:`PlanResult` (both the day-by-day and the cadence planner) and
writes it once; pages and edits read it back with :meth:`PlanResult.of_run`, which checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from geocrm.errors import ValidationError
from geocrm.models.planning import PlanRun

MODES = ("days", "cadence")


@dataclass(frozen=True)
class LeftOutVisit:
    """An account not planned, with the reason as a code and in words (and the day tried)."""

    account_id: int
    name: str
    date: str  # ISO day the reason belongs to; "" when it holds for every day
    reason: str
    text: str  # in English, the source language (exports, older readers)
    why: dict[str, Any] | None = None  # the reason as a note (geocrm.planning.notes), if coded

    def to_json(self) -> dict[str, Any]:
        out = {"account_id": self.account_id, "name": self.name, "date": self.date,
               "reason": self.reason, "text": self.text}
        if self.why is not None:
            out["why"] = self.why
        return out

    @classmethod
    def from_json(cls, data: Any) -> LeftOutVisit:
        if not isinstance(data, Mapping):
            raise ValidationError("unassigned", "each entry must be an object")
        try:
            account_id = int(data["account_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError("unassigned", "an entry has no account id") from exc
        why = data.get("why")
        return cls(account_id, str(data.get("name") or ""), str(data.get("date") or ""),
                   str(data.get("reason") or ""), str(data.get("text") or ""),
                   dict(why) if isinstance(why, Mapping) else None)


@dataclass(frozen=True)
class DaySummary:
    """How one day's solve went: reps working, visits offered and served, seconds spent."""

    date: str
    reps: int
    visits: int
    served: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date, "reps": self.reps, "visits": self.visits,
                "served": self.served, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: Any) -> DaySummary:
        if not isinstance(data, Mapping):
            raise ValidationError("days", "each day must be an object")
        try:
            return cls(str(data["date"]), int(data["reps"]), int(data["visits"]),
                       int(data["served"]), float(data["seconds"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError("days", f"a day summary is incomplete ({exc})") from exc


@dataclass(frozen=True)
class PlanResult:
    """A run's answer: what was left out and why, the notes, each day's solve."""

    unassigned: tuple[LeftOutVisit, ...] = ()
    notes: tuple[Any, ...] = ()  # sentences (older runs) or notes (geocrm.planning.notes)
    days: tuple[DaySummary, ...] = ()
    time_limit_s: float = 0.0
    mode: str = "days"
    planned_at: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValidationError("mode", f"{self.mode!r} is not one of {', '.join(MODES)}")

    @property
    def served(self) -> int:
        return sum(d.served for d in self.days)

    def without(self, account_id: int) -> PlanResult:
        """The same answer once ``account_id`` has been planned by hand."""
        return replace(self, unassigned=tuple(u for u in self.unassigned
                                              if u.account_id != account_id))

    def left_out(self, account_id: int) -> LeftOutVisit | None:
        return next((u for u in self.unassigned if u.account_id == account_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "unassigned": [u.to_json() for u in self.unassigned],
            "notes": list(self.notes),
            "days": [d.to_json() for d in self.days],
            "time_limit_s": self.time_limit_s,
            "mode": self.mode,
            "planned_at": self.planned_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> PlanResult:
        """Read a stored result back (an empty one for a run still planning)."""
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise ValidationError("result", "must be an object")
        notes = data.get("notes") or []
        if not isinstance(notes, list):
            raise ValidationError("notes", "must be a list")
        try:
            limit = float(data.get("time_limit_s") or 0.0)
        except (TypeError, ValueError) as exc:
            raise ValidationError("time_limit_s", "must be a number") from exc
        return cls(
            unassigned=tuple(LeftOutVisit.from_json(u) for u in data.get("unassigned") or []),
            notes=tuple(dict(n) if isinstance(n, Mapping) else str(n) for n in notes),
            days=tuple(DaySummary.from_json(d) for d in data.get("days") or []),
            time_limit_s=limit,
            mode=str(data.get("mode") or "days"),
            planned_at=str(data.get("planned_at") or ""),
        )

    @classmethod
    def of_run(cls, run: PlanRun) -> PlanResult:
        return cls.from_json(run.result)
