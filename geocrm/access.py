"""Who may see what: role checks and per-user scoping, applied once, used everywhere.

Every query for accounts goes through :func:`visible_accounts` and every single-account
lookup through :func:`get_account_or_404`, so a rep cannot reach another territory's
account by guessing ids: it answers 404, exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, false, or_, select

from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.models import Account, ImportBatch, Role, Territory, User, territory_reps

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Log-in required, and the user's role must be one of ``roles`` (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def territory_ids_for(user: User) -> Select[tuple[int]] | None:
    """A subquery of the territory ids ``user`` is scoped to, or ``None`` for company-wide roles."""
    if user.role in (Role.ADMIN, Role.PLANNER):
        return None
    if user.role == Role.MANAGER:
        return select(Territory.id).where(Territory.manager_id == user.id)
    return select(territory_reps.c.territory_id).where(territory_reps.c.user_id == user.id)


def scope_accounts(stmt: Select[Any], user: User) -> Select[Any]:
    """Restrict a statement over ``Account`` to what ``user`` may see.

    Reps: accounts in their territories, plus those they own (e.g. added on the road
    outside any territory). Managers: their territories' accounts and the unassigned ones
    (which they are there to place). Admins and planners: everything.
    """
    if not user.is_authenticated:
        return stmt.where(false())
    ids = territory_ids_for(user)
    if ids is None:
        return stmt
    if user.role == Role.MANAGER:
        return stmt.where(or_(Account.territory_id.in_(ids), Account.territory_id.is_(None)))
    return stmt.where(or_(Account.territory_id.in_(ids), Account.owner_id == user.id))


def visible_accounts(user: User) -> Select[tuple[Account]]:
    """``select(Account)`` scoped to ``user``."""
    return scope_accounts(select(Account), user)


def get_account_or_404(account_id: int, user: User) -> Account:
    """The account if it exists and ``user`` may see it; otherwise a 404 either way."""
    account = db.session.scalars(
        visible_accounts(user).where(Account.id == account_id)
    ).one_or_none()
    if account is None:
        raise NotFoundError(f"No account {account_id}.")
    return account


def scope_territories(stmt: Select[Any], user: User) -> Select[Any]:
    """Restrict a statement over ``Territory`` to the ones ``user`` works or manages."""
    ids = territory_ids_for(user)
    return stmt if ids is None else stmt.where(Territory.id.in_(ids))


def team_rep_ids(user: User) -> Select[tuple[int]] | None:
    """A subquery of the user ids of ``user``'s team, or ``None`` for company-wide roles.

    A manager's team is the reps of the territories they manage (deactivated ones included:
    their history stays readable); a rep's team is themselves. Admins and planners see every
    rep. The manager's day, daily reports, mileage, plan access and the home page's task
    counts all read this one rule.
    """
    if user.role in (Role.ADMIN, Role.PLANNER):
        return None
    if user.role == Role.MANAGER:
        return (
            select(territory_reps.c.user_id)
            .join(Territory, Territory.id == territory_reps.c.territory_id)
            .where(Territory.manager_id == user.id)
        )
    return select(User.id).where(User.id == user.id)


def scope_imports(stmt: Select[Any], user: User) -> Select[Any]:
    """Restrict a statement over ``ImportBatch`` to the imports ``user`` may see.

    Admins see every import (the command line's too); anyone else only the files they
    uploaded: a file's name, counts and duplicates report describe the accounts of the
    person who imported it, which another manager must not read. The import list, the
    duplicates report and the API all ask this one rule.
    """
    if not user.is_authenticated:
        return stmt.where(false())
    if user.role == Role.ADMIN:
        return stmt
    return stmt.where(ImportBatch.created_by_id == user.id)


def get_import_or_404(batch_id: int, user: User) -> ImportBatch:
    """The import batch if ``user`` may see it; otherwise a 404, as for a missing one."""
    batch = db.session.scalars(
        scope_imports(select(ImportBatch), user).where(ImportBatch.id == batch_id)
    ).one_or_none()
    if batch is None:
        raise NotFoundError(f"No import {batch_id}.")
    return batch
