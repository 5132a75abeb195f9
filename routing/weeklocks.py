"""A planner's locks on the weekly (cadence) plan (issue 15, item 5).

A day plan keeps locks through ``Visit.position`` and ``Rep.route_locked``; the week builds
its own day problems, so a lock has to reach them: :class:`WeekLock` says that on ``day`` the
rep ``rep_id`` visits the accounts of ``positions`` at those stop numbers, and with ``route``
exactly those, nothing added. :func:`pin_locked` makes each locked account an appointment of
that rep on that day (the week places it there and nowhere else near it);
:func:`lock_day` turns a rep's day into the locked problem the day model keeps, and says
which visits the week had placed on a locked route (they are offered another day, like any
visit a day could not fit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from routing.errors import ModelError
from routing.model import Reason, Rep, Unassigned, Visit

if TYPE_CHECKING:
    from routing.weekly import WeekProblem

LOCKED_OUT_TEXT = "the rep's route on that day is locked and takes no other visit"


@dataclass(frozen=True)
class WeekLock:
    """One rep's locked day: ``positions`` (account id, stop number) keep those visits at
    their place; ``route`` keeps exactly them, in that order."""

    rep_id: str
    day: date
    positions: tuple[tuple[str, int], ...] = ()
    route: bool = False

    def __post_init__(self) -> None:
        where = f"WeekLock {self.rep_id} {self.day}"
        numbers = [p for _, p in self.positions]
        if any(not isinstance(p, int) or p < 1 for p in numbers):
            raise ModelError(where, "positions", "stop numbers are whole numbers from 1")
        if len(set(numbers)) != len(numbers):
            raise ModelError(where, "positions", "two accounts share a stop number")


def check_locks(problem: WeekProblem) -> None:
    """Every lock names a rep and accounts of the problem, each account locked once."""
    reps = {r.rep.id for r in problem.reps}
    accounts = {a.id for a in problem.accounts}
    seen: set[str] = set()
    days: set[tuple[str, date]] = set()
    for lock in problem.locks:
        where = f"WeekLock {lock.rep_id} {lock.day}"
        if lock.rep_id not in reps:
            raise ModelError(where, "rep_id", "is not a rep of this problem")
        if (lock.rep_id, lock.day) in days:
            raise ModelError(where, "day", "is locked twice")
        days.add((lock.rep_id, lock.day))
        for aid, _ in lock.positions:
            if aid not in accounts:
                raise ModelError(where, "positions", f"account {aid!r} is not in the problem")
            if aid in seen:
                raise ModelError(where, "positions", f"account {aid!r} is locked twice")
            seen.add(aid)


def pin_locked(problem: WeekProblem) -> WeekProblem:
    """``problem`` with every locked account given to the lock's rep, with an appointment
    on the lock's day."""
    if not problem.locks:
        return problem
    where = {aid: lock for lock in problem.locks for aid, _ in lock.positions}
    accounts = tuple(
        a if a.id not in where else replace(
            a, rep_id=where[a.id].rep_id,
            pinned_days=tuple(sorted({*a.pinned_days, where[a.id].day})))
        for a in problem.accounts)
    return replace(problem, accounts=accounts)


def lock_day(problem: WeekProblem, rep: Rep, day: date, visits: Sequence[Visit]
             ) -> tuple[Rep, list[Visit], list[Unassigned]]:
    """The rep's day with its lock: locked visits at their stop numbers (renumbered 1, 2, 3…
    on a locked route, so a locked account that is not due leaves no gap), the rep's route
    locked when it is; on a locked route every other visit comes back as left out."""
    lock = next((x for x in problem.locks if x.rep_id == rep.id and x.day == day), None)
    if lock is None:
        return rep, list(visits), []
    present = {v.id for v in visits}
    ranked = sorted((p, aid) for aid, p in lock.positions if aid in present)
    number = {aid: (i if lock.route else p) for i, (p, aid) in enumerate(ranked, start=1)}
    kept: list[Visit] = []
    out: list[Unassigned] = []
    for v in visits:
        if v.id in number:
            kept.append(replace(v, position=number[v.id], pinned_rep=rep.id, must_visit=True))
        elif lock.route:
            out.append(Unassigned(v.id, Reason.NO_ROOM, LOCKED_OUT_TEXT))
        else:
            kept.append(v)
    return (replace(rep, route_locked=True) if lock.route else rep), kept, out
