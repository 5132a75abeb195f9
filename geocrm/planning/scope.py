"""Who may plan what: reps, territories, segments, runs, plans and stops within scope.

Admins and planners plan for every rep; managers for the reps of the territories they
manage, with the accounts they can see; reps only read their own published plans (and may
re-plan the rest of their day). Anything outside that answers 404, like a missing row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, false, or_, select

from geocrm.access import scope_territories, team_rep_ids
from geocrm.clock import local_zone
from geocrm.crm import services as crm_services
from geocrm.errors import ConflictError, NotFoundError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    PlanStatus,
    Role,
    RoutePlan,
    RouteStop,
    Territory,
    User,
    territory_reps,
)
from geocrm.models.planning import PlanRun
from geocrm.planning.base import PLANNER_ROLES, local_now


def plannable_reps(user: User) -> list[User]:
    """Active reps ``user`` may plan for: all for admins/planners, their own for managers."""
    stmt = select(User).where(User.role == Role.REP, User.active.is_(True))
    if user.role == Role.MANAGER:
        stmt = stmt.where(User.id.in_(team_rep_ids(user)))
    elif user.role not in (Role.ADMIN, Role.PLANNER):
        stmt = stmt.where(false())
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))


def territory_choices(user: User) -> list[Territory]:
    """The territories ``user`` may filter a plan by."""
    return list(db.session.scalars(scope_territories(select(Territory), user).order_by(
        Territory.name)))


def segment_lookup() -> Callable[[int, User], Iterable[int]] | None:
    """The CRM core's scoped segment lookup (a segment's accounts that ``user`` may see)."""
    return crm_services.segment_account_ids  # type: ignore[no-any-return]


def segment_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of the segments ``user`` may open: theirs and the shared ones."""
    return crm_services.segment_choices(user)  # type: ignore[no-any-return]


def visible_runs(user: User) -> Any:
    """``select(PlanRun)`` scoped: admins and planners see all; managers the runs they made
    and the runs whose every plan is for a rep of their team (whoever planned it: a planner's
    run for the manager's reps is the manager's to open, re-run and publish too)."""
    stmt = select(PlanRun)
    if user.role in (Role.ADMIN, Role.PLANNER):
        return stmt
    if user.role == Role.MANAGER:
        team = team_rep_ids(user)
        assert team is not None
        mine = RoutePlan.run_id == PlanRun.id
        only_team = and_(
            select(RoutePlan.id).where(mine).exists(),
            ~select(RoutePlan.id).where(mine, RoutePlan.rep_id.not_in(team)).exists(),
        )
        return stmt.where(or_(PlanRun.created_by_id == user.id, only_team))
    return stmt.where(false())


def recent_runs(user: User, limit: int = 15) -> list[PlanRun]:
    """The newest runs ``user`` may open (the planner page's list)."""
    return list(db.session.scalars(visible_runs(user).order_by(PlanRun.id.desc()).limit(limit)))


def get_run_or_404(run_id: int, user: User) -> PlanRun:
    """A run ``user`` may open, or a 404."""
    run = db.session.scalars(visible_runs(user).where(PlanRun.id == run_id)).one_or_none()
    if run is None:
        raise NotFoundError(f"No planning run {run_id}.")
    return run


def get_plan_or_404(plan_id: int, user: User) -> RoutePlan:
    """A rep's own published plan; any plan for admins/planners; managers: every plan for a
    rep of their territories (whoever made it, the rep active or not) or of a run they may
    open. Everything else is a 404, like a missing plan."""
    plan = db.session.get(RoutePlan, plan_id)
    ok = False
    if plan is not None:
        if user.role in (Role.ADMIN, Role.PLANNER):
            ok = True
        elif user.role == Role.MANAGER:
            team = team_rep_ids(user)
            assert team is not None
            ok = plan.rep_id in set(db.session.scalars(team)) or (
                plan.run_id is not None and db.session.scalar(
                    visible_runs(user).with_only_columns(PlanRun.id)
                    .where(PlanRun.id == plan.run_id)) is not None
            )
        elif user.role == Role.REP:
            ok = plan.rep_id == user.id and plan.status == PlanStatus.PUBLISHED
    if plan is None or not ok:
        raise NotFoundError(f"No plan {plan_id}.")
    return plan


def get_stop_for_edit(stop_id: int, user: User) -> RouteStop:
    """A stop of a draft plan in a run ``user`` may edit (404 outside scope, 409 if published)."""
    stop = db.session.get(RouteStop, stop_id)
    if stop is None or stop.plan.run_id is None:
        raise NotFoundError(f"No stop {stop_id}.")
    run = get_run_or_404(stop.plan.run_id, user)
    require_draft(run)
    return stop


def require_draft(run: PlanRun) -> None:
    """Edits are for draft runs whose job has finished (a 409 otherwise, with why)."""
    if run.status != PlanStatus.DRAFT:
        raise ConflictError("This plan is published: start a new run or re-plan the day.")
    if run.job is not None and not run.job.finished:
        raise ConflictError("Planning is still running; wait for it to finish.")


def can_replan(plan: RoutePlan, user: User) -> bool:
    """Published plans only; the rep themselves or a planner who can see the plan."""
    if plan.status != PlanStatus.PUBLISHED:
        return False
    if user.role == Role.REP:
        return plan.rep_id == user.id
    return user.role in PLANNER_ROLES


def my_plans(user: User, since: date | None = None) -> list[RoutePlan]:
    """A rep's published plans from ``since`` (default: today) on."""
    since = since or local_now(local_zone()).date()
    return list(
        db.session.scalars(
            select(RoutePlan)
            .where(
                RoutePlan.rep_id == user.id,
                RoutePlan.status == PlanStatus.PUBLISHED,
                RoutePlan.plan_date >= since,
            )
            .order_by(RoutePlan.plan_date, RoutePlan.id)
        )
    )


def rep_territory_ids(rep_ids: Iterable[int]) -> dict[int, set[int]]:
    """Territory ids per rep, from the link table (no territory geometry loaded)."""
    ids = list(rep_ids)
    out: dict[int, set[int]] = {rid: set() for rid in ids}
    rows = db.session.execute(
        select(territory_reps.c.user_id, territory_reps.c.territory_id).where(
            territory_reps.c.user_id.in_(ids))
    )
    for uid, tid in rows:
        out[uid].add(tid)
    return out


def covers(rep: User, account: Account) -> bool:
    """Whether ``rep`` sees ``account`` on their phone (territory or ownership)."""
    return account.owner_id == rep.id or (
        account.territory_id is not None
        and account.territory_id in rep_territory_ids([rep.id])[rep.id]
    )
