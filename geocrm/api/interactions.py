"""Interactions in ``/api/v1`` (issue 18): the timeline of every account the user may see as
a list with cursor, filters and ``updated_since`` (a check-out or an outcome logged later
changes a visit), and one interaction with its entity tag.

Logging one (``POST /interactions``, exactly once by its ``uuid``, with its follow-up task and
photo) stays the field app's, in :mod:`geocrm.api.field`; an interaction is a record of what
happened and is not edited or deleted through the API. Who sees what is
:func:`geocrm.crm.tasks.visible_interactions`: the account's rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask_login import current_user, login_required
from pydantic import Field
from sqlalchemy import Select

from geocrm.api import bp
from geocrm.api.object_lists import (
    DbId,
    PageQuery,
    SortKey,
    changed_since,
    etag_answer,
    iso,
    keyset_page,
    page_json,
    utc_naive,
)
from geocrm.api.schema import Loose, api_schema
from geocrm.crm import services
from geocrm.field.sync import interaction_json as field_interaction_json
from geocrm.models import Interaction, InteractionKind, User

SORTS = ("id", "-id", "occurred_at", "-occurred_at", "updated_at", "-updated_at")
KEYS = {"id": SortKey(Interaction.id), "occurred_at": SortKey(Interaction.occurred_at, "time"),
        "updated_at": SortKey(Interaction.updated_at, "time")}


def interaction_json(i: Interaction) -> dict[str, Any]:
    """The field app's interaction (no positions: the distance and flag say enough) with its
    id, who logged it and when it last changed."""
    return {**field_interaction_json(i), "id": i.id, "user_id": i.user_id,
            "route_stop_id": i.route_stop_id, "created_at": iso(i.created_at),
            "updated_at": iso(i.updated_at)}


class InteractionListQuery(PageQuery):
    """Filters, order and place of a page of interactions."""

    account: list[DbId] = Field(default_factory=list)
    user: list[DbId] = Field(default_factory=list, description="logged by these users")
    mine: bool = Field(False, description="only the ones I logged")
    kind: list[InteractionKind] = Field(default_factory=list)
    occurred_from: datetime | None = Field(None, description="happened at or after")
    occurred_to: datetime | None = Field(None, description="happened before")
    sort: Literal[SORTS] = "id"  # type: ignore[valid-type]


class InteractionOut(Loose):
    id: int
    uuid: str
    account_id: int
    kind: InteractionKind
    occurred_at: str
    outcome: str | None = None
    updated_at: str


class InteractionPage(Loose):
    total: int
    items: list[InteractionOut]
    next_cursor: str | None = Field(description="null on the last page")


def filtered_interactions(user: User, query: InteractionListQuery) -> Select[tuple[Interaction]]:
    """The interactions ``user`` may see narrowed by the query's filters."""
    stmt = services.visible_interactions(user)
    if query.account:
        stmt = stmt.where(Interaction.account_id.in_(query.account))
    if query.user:
        stmt = stmt.where(Interaction.user_id.in_(query.user))
    if query.mine:
        stmt = stmt.where(Interaction.user_id == user.id)
    if query.kind:
        stmt = stmt.where(Interaction.kind.in_(query.kind))
    if query.occurred_from is not None:
        stmt = stmt.where(Interaction.occurred_at >= utc_naive(query.occurred_from))
    if query.occurred_to is not None:
        stmt = stmt.where(Interaction.occurred_at < utc_naive(query.occurred_to))
    return changed_since(stmt, Interaction.updated_at, query.updated_since)


@bp.route("/interactions")
@login_required
@api_schema(query=InteractionListQuery, responses={200: InteractionPage})
def interactions(query: InteractionListQuery) -> Any:
    """A page of the interactions on the accounts the user may see (keyset ``cursor``)."""
    rows, next_cursor, total = keyset_page(
        filtered_interactions(current_user, query), sort=query.sort, keys=KEYS,
        id_column=Interaction.id, cursor=query.cursor, limit=query.limit)
    return page_json(rows, interaction_json, next_cursor, total)


@bp.route("/interactions/<int:interaction_id>")
@login_required
@api_schema(responses={200: InteractionOut},
            headers={200: {"ETag": "the interaction's entity tag"}})
def interaction(interaction_id: int) -> Any:
    """One interaction (``ETag``: its content)."""
    return etag_answer(
        interaction_json(services.get_interaction_or_404(interaction_id, current_user)))
