"""Opportunities (deals) in ``/api/v1`` (issue 18): the list with cursor, filters and
``updated_since``; open one on a visible account, move it through the stages (``PATCH``, 412
on a stale ``If-Match``). The rules, the audit and the ``opportunity.created`` /
``opportunity.updated`` webhooks are the pipeline page's
(:mod:`geocrm.crm.opportunities`); a deal is closed as won or lost, never deleted.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from flask_login import current_user, login_required
from pydantic import Field
from sqlalchemy import Select, select

from geocrm.api import bp
from geocrm.api.object_lists import (
    NO_NUL,
    DbId,
    PageQuery,
    SortKey,
    changed_since,
    check_unchanged,
    etag_answer,
    iso,
    keyset_page,
    page_json,
)
from geocrm.api.schema import Loose, Schema, api_schema
from geocrm.core.transaction import commits
from geocrm.crm import services
from geocrm.extensions import db
from geocrm.models import Account, Opportunity, OpportunityStage, User

SORTS = ("id", "-id", "name", "-name", "updated_at", "-updated_at")
KEYS = {"id": SortKey(Opportunity.id), "name": SortKey(Opportunity.name, "str"),
        "updated_at": SortKey(Opportunity.updated_at, "time")}
#: The largest amount the column keeps (Numeric(14, 2)).
MAX_AMOUNT = Decimal("999999999999.99")


def opportunity_json(o: Opportunity) -> dict[str, Any]:
    return {"id": o.id, "account_id": o.account_id, "owner_id": o.owner_id, "name": o.name,
            "stage": o.stage.value, "amount": str(o.amount) if o.amount is not None else None,
            "expected_close": iso(o.expected_close), "closed": bool(o.closed),
            "created_at": iso(o.created_at), "updated_at": iso(o.updated_at)}


class OpportunityListQuery(PageQuery):
    """Filters, order and place of a page of opportunities."""

    stage: list[OpportunityStage] = Field(default_factory=list)
    closed: bool | None = Field(None, description="only closed (true) or open (false) deals")
    account: list[DbId] = Field(default_factory=list)
    owner: list[DbId] = Field(default_factory=list)
    territory: list[DbId] = Field(default_factory=list, description="the account's territory")
    close_from: date | None = Field(None, description="expected to close on or after")
    close_to: date | None = Field(None, description="expected to close on or before")
    sort: Literal[SORTS] = "id"  # type: ignore[valid-type]


class OpportunityOut(Loose):
    id: int
    account_id: int
    name: str
    stage: OpportunityStage
    amount: str | None = None
    closed: bool
    updated_at: str


class OpportunityPage(Loose):
    total: int
    items: list[OpportunityOut]
    next_cursor: str | None = Field(description="null on the last page")


class OpportunityEdit(Schema):
    """What the pipeline page may change; the owner must be able to see the account."""

    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    stage: OpportunityStage | None = None
    amount: Decimal | None = Field(None, ge=0, le=MAX_AMOUNT, decimal_places=2,
                                   description="non-negative, two decimals; null clears it")
    expected_close: date | None = None
    owner_id: DbId | None = None


class OpportunityNew(OpportunityEdit):
    """A deal on an account the user may see (owner: the user, unless given)."""

    account_id: DbId
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)  # type: ignore[assignment]


def filtered_opportunities(user: User, query: OpportunityListQuery
                           ) -> Select[tuple[Opportunity]]:
    """The deals ``user`` may see (the pipeline's rule) narrowed by the query's filters."""
    stmt = services.visible_opportunities(user)
    if query.stage:
        stmt = stmt.where(Opportunity.stage.in_(query.stage))
    if query.closed is not None:
        stmt = stmt.where(Opportunity.closed.is_(query.closed))
    if query.account:
        stmt = stmt.where(Opportunity.account_id.in_(query.account))
    if query.owner:
        stmt = stmt.where(Opportunity.owner_id.in_(query.owner))
    if query.territory:
        stmt = stmt.where(Opportunity.account_id.in_(
            select(Account.id).where(Account.territory_id.in_(query.territory))))
    if query.close_from is not None:
        stmt = stmt.where(Opportunity.expected_close >= query.close_from)
    if query.close_to is not None:
        stmt = stmt.where(Opportunity.expected_close <= query.close_to)
    return changed_since(stmt, Opportunity.updated_at, query.updated_since)


def _values(body: OpportunityEdit) -> dict[str, Any]:
    """The body as the page's form would send it (text the service's parsers read)."""
    values = body.model_dump(mode="json", exclude_unset=True)
    if values.get("stage", "") is None:
        values.pop("stage")  # null: keep the stage (the parser would reset it)
    return values


@bp.route("/opportunities")
@login_required
@api_schema(query=OpportunityListQuery, responses={200: OpportunityPage})
def opportunities(query: OpportunityListQuery) -> Any:
    """A page of the deals on the accounts the user may see (keyset ``cursor``)."""
    rows, next_cursor, total = keyset_page(
        filtered_opportunities(current_user, query), sort=query.sort, keys=KEYS,
        id_column=Opportunity.id, cursor=query.cursor, limit=query.limit)
    return page_json(rows, opportunity_json, next_cursor, total)


@bp.route("/opportunities", methods=["POST"])
@login_required
@commits
@api_schema(body=OpportunityNew, responses={201: OpportunityOut}, errors=(404,),
            headers={201: {"ETag": "the deal's entity tag"}})
def create_opportunity(body: OpportunityNew) -> Any:
    """Open a deal on an account the user may see (404 for any other account)."""
    values = _values(body)
    opp = services.create_opportunity(current_user, values.pop("account_id"), values)
    return etag_answer(opportunity_json(opp), 201)


@bp.route("/opportunities/<int:opportunity_id>")
@login_required
@api_schema(responses={200: OpportunityOut}, headers={200: {"ETag": "the deal's entity tag"}})
def opportunity(opportunity_id: int) -> Any:
    """One deal (``ETag``: its content)."""
    opp = services.get_opportunity_or_404(opportunity_id, current_user)
    return etag_answer(opportunity_json(opp))


@bp.route("/opportunities/<int:opportunity_id>", methods=["PATCH"])
@login_required
@commits
@api_schema(body=OpportunityEdit, responses={200: OpportunityOut}, errors=(412,),
            headers={200: {"ETag": "the deal's new entity tag"}})
def patch_opportunity(opportunity_id: int, body: OpportunityEdit) -> Any:
    """Move a deal to another stage or change its name, amount, close date or owner;
    412 on a stale ``If-Match``."""
    current = services.get_opportunity_or_404(opportunity_id, current_user)
    db.session.refresh(current, with_for_update=True)  # the version checked is the one written
    check_unchanged(opportunity_json(current))
    opp = services.update_opportunity(current_user, opportunity_id, _values(body))
    return etag_answer(opportunity_json(opp))
