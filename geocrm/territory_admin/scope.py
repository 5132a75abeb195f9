"""Who may see and change which territories, and whom they can be given to."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from geocrm.access import scope_territories
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.models import Role, Territory, User

EDIT_ROLES = (Role.ADMIN, Role.MANAGER)
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER, Role.REP)

# --- scope -----------------------------------------------------------------------------


def can_edit(user: User) -> bool:
    """Admins edit every territory, managers the ones they manage; others only look."""
    return bool(user.is_authenticated and user.role in EDIT_ROLES)


def visible_territories(user: User) -> list[Territory]:
    """The territories ``user`` may see, by name."""
    stmt = scope_territories(select(Territory), user).order_by(Territory.name, Territory.id)
    return list(db.session.scalars(stmt))


def get_territory_or_404(territory_id: int, user: User) -> Territory:
    """A territory in ``user``'s scope; missing and out-of-scope both answer 404."""
    stmt = scope_territories(select(Territory).where(Territory.id == territory_id), user)
    found = db.session.scalars(stmt).one_or_none()
    if found is None:
        raise NotFoundError(_("No territory %(id)s.", id=territory_id))
    return found


def get_editable_or_404(territory_id: int, user: User) -> Territory:
    """A territory ``user`` may change: in scope, and the user edits at all (else 404)."""
    if not can_edit(user):
        raise NotFoundError(_("No territory %(id)s.", id=territory_id))
    return get_territory_or_404(territory_id, user)


def rep_choices() -> list[User]:
    """Active reps, who can be assigned to territories."""
    stmt = select(User).where(User.role == Role.REP, User.active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))


def manager_choices() -> list[User]:
    stmt = select(User).where(User.role == Role.MANAGER, User.active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.name, User.id)))
