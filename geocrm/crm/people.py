"""Who may see an account, and whom a task or a deal may be given to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select

from geocrm.access import scope_accounts
from geocrm.crm.values import int_value
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Role,
    Territory,
    User,
    territory_reps,
)

# -- who may see an account ----------------------------------------


def can_see(user: User, account_id: int) -> bool:
    """Whether ``user`` may see the account (the same rule as every scoped query)."""
    if not user.active:
        return False
    stmt = scope_accounts(select(Account.id).where(Account.id == account_id), user)
    return db.session.scalar(stmt) is not None


def assignable_users(account: Account | None) -> list[User]:
    """Active users a task or opportunity on ``account`` can go to: those who can see it.

    Candidates by the scoping rule (company-wide roles, the territory's manager and reps,
    the owner; every manager for an unassigned account); a submitted id is still checked
    with :func:`can_see`, which is the rule itself.
    """
    stmt = select(User).where(User.active.is_(True))
    if account is not None:
        conds = [User.role.in_([Role.ADMIN, Role.PLANNER])]
        if account.owner_id is not None:
            conds.append(User.id == account.owner_id)
        if account.territory_id is None:
            conds.append(User.role == Role.MANAGER)
        else:
            conds.append(
                User.id.in_(
                    select(Territory.manager_id).where(Territory.id == account.territory_id)
                )
            )
            conds.append(
                User.id.in_(
                    select(territory_reps.c.user_id).where(
                        territory_reps.c.territory_id == account.territory_id
                    )
                )
            )
        stmt = stmt.where(or_(*conds))
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))


def assignee_value(
    values: Mapping[str, Any], name: str, user: User, account: Account | None
) -> User:
    """The user named by ``values[name]`` (default: the acting user), who must see the account."""
    assignee_id = int_value(values, name)
    if assignee_id is None or assignee_id == user.id:
        return user
    assignee = db.session.get(User, assignee_id)
    if assignee is None or not assignee.active:
        raise ValidationError(name, "no such active user")
    if account is not None and not can_see(assignee, account.id):
        raise ValidationError(name, f"{assignee.name} cannot see this account")
    return assignee
