"""/api/v1/users (issue 18): the People page for scripts — admins only.

The admin role, and with a bearer token also the ``admin`` scope
(:func:`geocrm.api.tokens.requires_scope`). Every change goes through
:mod:`geocrm.people.services`: a new person is *invited* (a one-time link, mailed when mail
is set up; nobody ever sets or learns another's password), deactivation ends their sessions
and tokens at once, the last admin stays an admin, and each change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import jsonify, url_for
from flask_login import current_user
from pydantic import Field
from sqlalchemy import exists, or_, select

from geocrm.access import roles_required
from geocrm.api import bp
from geocrm.api.object_lists import (
    Ids,
    PageQuery,
    SortKey,
    Text,
    check_unchanged,
    etag_answer,
    iso,
    keyset_page,
    utc_naive,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.api.tokens import requires_scope
from geocrm.core.transaction import commits
from geocrm.models import AuditEntry, Role, Territory, User
from geocrm.people import services

SORT_KEYS = {"id": SortKey(User.id), "name": SortKey(User.name, "str"),
             "email": SortKey(User.email, "str")}


class UserListQuery(PageQuery):
    q: Text | None = Field(None, max_length=100, description="words of the name or email")
    role: list[Role] = Field(default_factory=list)
    active: bool | None = None
    territory: Ids = Field(default_factory=list, max_length=100)
    updated_since: datetime | None = Field(
        None, description="people created or changed (role, territories, activation, "
        "profile, password) at or after this time")
    sort: Literal["id", "-id", "name", "-name", "email", "-email"] = "id"
    limit: int = Field(100, ge=1, le=500)


class UserInvite(Schema):
    """Whom to invite, with which role and territories."""

    email: Text = Field(min_length=3, max_length=254)
    name: Text = Field(min_length=1, max_length=120)
    role: Role = Role.REP
    territory_ids: Ids = Field(default_factory=list, max_length=500)


class UserPatch(Schema):
    """What changes: name, role, territories, or ``active`` (false deactivates)."""

    name: Text | None = Field(None, min_length=1, max_length=120)
    role: Role | None = None
    territory_ids: Ids | None = Field(None, max_length=500)
    active: bool | None = None


class UserOut(Loose):
    id: int
    email: str
    name: str
    role: Role
    active: bool


class UserPage(Loose):
    total: int
    items: list[UserOut]
    next_cursor: str | None


class InvitationOut(Loose):
    id: int
    email: str
    role: str
    expires_at: str
    join_url: str = Field(description="the one-time link; shown in this answer only")
    mailed: bool


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
        "active": user.active, "territory_ids": sorted(t.id for t in user.territories),
        "phone": user.phone, "locale": user.locale,
        "home_lat": user.home_lat, "home_lon": user.home_lon,
        "work_days": user.work_days, "work_start_min": user.work_start_min,
        "work_end_min": user.work_end_min,
        "created_at": iso(user.created_at), "last_login_at": iso(user.last_login_at),
    }


def _answer(user: User, status: int = 200) -> Any:
    return etag_answer(user_json(user), status)


ADMIN_ERRORS = (403,)


@bp.route("/users")
@requires_scope("admin")
@roles_required(Role.ADMIN)
@api_schema(query=UserListQuery, responses={200: UserPage}, errors=ADMIN_ERRORS)
def users(query: UserListQuery) -> Any:
    """A page of everyone (deactivated people too), keyset ``cursor``."""
    stmt = select(User)
    if query.q and query.q.strip():
        words = query.q.strip()
        stmt = stmt.where(or_(User.name.icontains(words, autoescape=True),
                              User.email.icontains(words, autoescape=True)))
    if query.role:
        stmt = stmt.where(User.role.in_(query.role))
    if query.active is not None:
        stmt = stmt.where(User.active.is_(query.active))
    if query.territory:
        stmt = stmt.where(User.territories.any(Territory.id.in_(query.territory)))
    since = utc_naive(query.updated_since)
    if since is not None:
        # People keep no "changed at": their audit trail says when (the invitation's own
        # entry names the invitation, not a person).
        changed = exists().where(AuditEntry.entity == "user", AuditEntry.entity_id == User.id,
                                 AuditEntry.action != "invite", AuditEntry.at >= since)
        stmt = stmt.where(or_(User.created_at >= since, changed))
    rows, next_cursor, total = keyset_page(stmt, sort=query.sort, keys=SORT_KEYS,
                                           id_column=User.id, cursor=query.cursor,
                                           limit=query.limit)
    return jsonify({"total": total, "items": [user_json(u) for u in rows],
                    "next_cursor": next_cursor})


@bp.route("/users", methods=["POST"])
@requires_scope("admin")
@roles_required(Role.ADMIN)
@commits
@api_schema(body=UserInvite, responses={201: InvitationOut}, errors=ADMIN_ERRORS)
def invite_user(body: UserInvite) -> Any:
    """Invite someone: a one-time link to join with the role and territories given (mailed
    when mail is set up, and in this answer once)."""
    issued = services.invite(current_user, body.email, body.name, body.role,
                             body.territory_ids)
    join_url = url_for("people.join", token=issued.token, _external=True)
    mailed = services.mail_invitation(current_user, issued, join_url)
    link = issued.link
    response = jsonify({"id": link.id, "email": link.email, "name": link.name,
                        "role": link.role, "territory_ids": link.territory_ids or [],
                        "expires_at": iso(link.expires_at), "join_url": join_url,
                        "mailed": mailed})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users/<int:user_id>")
@requires_scope("admin")
@roles_required(Role.ADMIN)
@api_schema(responses={200: UserOut}, errors=ADMIN_ERRORS,
            headers={200: {"ETag": "the person's state"}})
def user(user_id: int) -> Any:
    """One person (``ETag`` for ``If-Match``)."""
    return _answer(services.get_person(user_id))


@bp.route("/users/<int:user_id>", methods=["PATCH"])
@requires_scope("admin")
@roles_required(Role.ADMIN)
@commits
@api_schema(body=UserPatch, responses={200: UserOut}, errors=(*ADMIN_ERRORS, 412),
            headers={200: {"ETag": "the person's new state"}})
def patch_user(user_id: int, body: UserPatch) -> Any:
    """Change a person's name, role or territories, or deactivate (``"active": false``:
    signed out everywhere, tokens revoked, history kept) or reactivate them; 412 on a
    stale ``If-Match``."""
    person = services.get_person(user_id)
    check_unchanged(user_json(person))
    if body.name is not None or body.role is not None or body.territory_ids is not None:
        services.update_person(
            current_user, user_id, name=body.name if body.name is not None else person.name,
            role=body.role or person.role,
            territory_ids=(body.territory_ids if body.territory_ids is not None
                           else [t.id for t in person.territories]))
    if body.active is not None:
        services.set_active(current_user, user_id, body.active)
    return _answer(services.get_person(user_id))

