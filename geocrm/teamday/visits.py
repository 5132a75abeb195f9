"""Whose day a user may read, and what happened in it: the visits and interactions of a rep's
local day, in the order they happened.

One reading for the manager's day, the daily report and mileage, so the three never disagree
about which visits a day had or in what order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload

from geocrm.access import scope_accounts, team_rep_ids
from geocrm.clock import local_day_bounds_utc, local_today
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Interaction,
    InteractionKind,
    Role,
    Territory,
    User,
    territory_reps,
)


def team_reps(user: User, *, active_only: bool = True) -> list[User]:
    """The reps ``user`` may follow: a manager's team, everyone for planners and admins,
    themselves for a rep (by name)."""
    stmt = select(User).where(User.role == Role.REP)
    team = team_rep_ids(user)
    if team is not None:
        stmt = stmt.where(User.id.in_(team))
    if active_only:
        stmt = stmt.where(User.active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))


def get_rep_or_404(rep_id: int, user: User) -> User:
    """A rep whose days ``user`` may read (deactivated ones too: their history stays), or a
    404 like a missing one."""
    team = team_rep_ids(user)
    stmt = select(User).where(User.id == rep_id, User.role == Role.REP)
    if team is not None:
        stmt = stmt.where(User.id.in_(team))
    rep = db.session.scalars(stmt).one_or_none()
    if rep is None:
        raise NotFoundError(f"No rep {rep_id}.")
    return rep


def arrived_at(item: Interaction) -> datetime:
    """When a visit began: its check-in, else when it was logged."""
    return item.checkin_at or item.occurred_at


def _day_query(rep_ids: Iterable[int], start: datetime, end: datetime, *,
               visits_only: bool, slim: bool = False) -> list[Interaction]:
    ids = list(rep_ids)
    if not ids:
        return []
    account = selectinload(Interaction.account)
    stmt = (
        select(Interaction)
        .options(account.load_only(Account.id, Account.name, Account.lat, Account.lon)
                 if slim else account)
        .where(Interaction.user_id.in_(ids), Interaction.occurred_at >= start,
               Interaction.occurred_at < end)
    )
    if visits_only:
        stmt = stmt.where(Interaction.kind == InteractionKind.VISIT)
    if slim:
        stmt = stmt.options(load_only(
            Interaction.id, Interaction.user_id, Interaction.account_id, Interaction.kind,
            Interaction.occurred_at, Interaction.checkin_at, Interaction.checkin_lat,
            Interaction.checkin_lon, Interaction.checkin_accuracy_m))
    rows = list(db.session.scalars(stmt))
    rows.sort(key=lambda i: (arrived_at(i), i.id))
    return rows


def day_visits(rep_ids: Iterable[int], day: date) -> dict[int, list[Interaction]]:
    """Each rep's visits of the local ``day``, in check-in order (the visit sequence)."""
    start, end = local_day_bounds_utc(day)
    out: dict[int, list[Interaction]] = defaultdict(list)
    for item in _day_query(rep_ids, start, end, visits_only=True):
        out[int(item.user_id)].append(item)
    return dict(out)


def period_visits(rep_ids: Iterable[int], first: date,
                  last: date) -> dict[int, dict[date, list[Interaction]]]:
    """Each rep's visits from local ``first`` to ``last`` (inclusive), by local day, each day
    in check-in order: only what the visit sequence needs (when, where, which account), as a
    month of a large team is thousands of rows."""
    start, _ = local_day_bounds_utc(first)
    _, end = local_day_bounds_utc(last)
    out: dict[int, dict[date, list[Interaction]]] = defaultdict(lambda: defaultdict(list))
    for item in _day_query(rep_ids, start, end, visits_only=True, slim=True):
        out[int(item.user_id)][local_today(item.occurred_at)].append(item)
    return {rep: dict(days) for rep, days in out.items()}


def day_interactions(rep_id: int, day: date) -> list[Interaction]:
    """Everything a rep logged on the local ``day`` (visits, calls, e-mails, notes), in order."""
    start, end = local_day_bounds_utc(day)
    return _day_query([rep_id], start, end, visits_only=False)


def managers_of(rep: User) -> list[User]:
    """The active managers of the territories ``rep`` works: whom their daily report goes to."""
    return list(db.session.scalars(
        select(User).where(
            User.active.is_(True),
            User.id.in_(select(Territory.manager_id).join(
                territory_reps, territory_reps.c.territory_id == Territory.id).where(
                    territory_reps.c.user_id == rep.id)))
        .order_by(User.id)))


def hidden_accounts(user: User, account_ids: Iterable[int]) -> set[int]:
    """Of ``account_ids``, those ``user`` may not see (:func:`geocrm.access.scope_accounts`):
    a rep of the manager's team may also work another manager's territory, and that
    territory's account names and places stay out of this manager's pages."""
    ids = set(account_ids)
    if not ids:
        return set()
    seen = set(db.session.scalars(scope_accounts(select(Account.id).where(Account.id.in_(ids)),
                                                 user)))
    return ids - seen
