"""Notes that are both an English sentence and a code with parameters.

A plan's notes are read by people (in a notebook, a benchmark, a log) and by an app that
shows them in its reader's language. A :class:`Note` is a ``str`` (the English sentence,
so ``"not possible" in note`` and printing keep working) that also carries ``code`` and
``params``: the app translates from those instead of parsing the sentence. Parameters are
plain values, lists, pairs, or notes themselves; a parameter named ``rep`` (and the first
item of each ``counts`` pair) is a rep id, which an app may show as the rep's name.

The builders below are the weekly planner's notes (``routing.weekly``); each says what the
planner found, in one place, so the sentence and its code cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any


class Note(str):
    """An English sentence with its ``code`` and ``params`` (see the module docstring)."""

    code: str
    params: dict[str, Any]

    def __new__(cls, text: str, code: str, params: dict[str, Any] | None = None) -> Note:
        self = super().__new__(cls, text)
        self.code = code
        self.params = dict(params or {})
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as text, code and parameters (plans travel between processes)."""
        return (Note, (str(self), self.code, self.params))


def week_summary(due: int, accounts: int, start: date, end: date, placed: int) -> Note:
    """How many visits fell due in the period and how many were placed."""
    return Note(f"{due} visits due for {accounts} accounts between {start.isoformat()} and "
                f"{end.isoformat()}; {placed} placed, {due - placed} left out", "week_summary",
                {"due": due, "accounts": accounts, "start": start.isoformat(),
                 "end": end.isoformat(), "placed": placed, "left": due - placed})


def rep_days(rep: str, days: int, low_min: int, high_min: int) -> Note:
    """A rep's working days in the period and the range of their day lengths."""
    return Note(f"{rep}: {days} working days, day length {low_min}–{high_min} min", "rep_days",
                {"rep": rep, "days": days, "low": low_min, "high": high_min})


def rep_no_days(rep: str) -> Note:
    return Note(f"{rep}: works no day in the period", "rep_no_days", {"rep": rep})


def visits_per_rep(counts: dict[str, int], spread: float | None = None,
                   per_hour: bool = False, goal: float = math.inf) -> Note:
    """Visits per rep and, with two or more working reps, their max/min ratio (per working
    hour when the reps' working time differs) against the goal."""
    text = ", ".join(f"{rid} {v}" for rid, v in counts.items())
    pairs = [[rid, v] for rid, v in counts.items()]
    if spread is None:
        return Note(f"visits per rep: {text}", "visits_per_rep", {"counts": pairs})
    measure = "max/min per working hour" if per_hour else "max/min"
    has_goal = math.isfinite(goal)
    goal_text = f" (goal ≤ {goal:g})" if has_goal else ""
    shown = round(spread, 2) if math.isfinite(spread) else None
    return Note(f"visits per rep: {text}; {measure} {spread:.2f}{goal_text}",
                "visits_per_rep_spread",
                {"counts": pairs, "spread": shown, "per_hour": per_hour,
                 "goal": goal if has_goal else None})


def balance_impossible(max_spread: float, reasons: Sequence[str]) -> Note:
    """The spread could not be kept, and why (notes built below, or plain sentences)."""
    return Note(f"balance within {max_spread:g}× is not possible this period: "
                + "; ".join(reasons), "balance_impossible",
                {"spread": f"{max_spread:g}", "reasons": list(reasons)})


def own_accounts_over(rep: str, need: int, share: float) -> Note:
    return Note(f"{rep}'s own accounts alone need {need} visits, over a fair share of "
                f"{share:.0f}", "own_accounts_over",
                {"rep": rep, "num": need, "share": round(share)})


def own_accounts_under(rep: str, have: int, share: float) -> Note:
    return Note(f"only {have} visits are {rep}'s to make (a fair share is {share:.0f}) and no "
                "account is free to move", "own_accounts_under",
                {"rep": rep, "num": have, "share": round(share)})


def could_only_get(rep: str, got: int, share: float) -> Note:
    return Note(f"only {got} visits could go to {rep} (a fair share is {share:.0f}): the "
                f"others belong to a rep or need skills {rep} lacks", "could_only_get",
                {"rep": rep, "num": got, "share": round(share)})


def uneven_in_general() -> Note:
    return Note("accounts' skills, opening days, full days or too few visits to share evenly",
                "uneven_in_general")


def moved_to_other_day(count: int) -> Note:
    return Note(f"{count} visits a route could not fit were moved to another day",
                "moved_to_other_day", {"num": count})
