"""Opportunities (deals): open, move through the stages, close."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from geocrm.access import get_account_or_404, scope_accounts
from geocrm.core import audit
from geocrm.crm.people import assignee_value
from geocrm.crm.values import CLOSED_STAGES, date_value, enum_value, money_value, text_value
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Opportunity,
    OpportunityStage,
    User,
    utcnow,
)
from geocrm.webhooks import events as webhooks

# -- opportunities ----------------------------------------


def visible_opportunities(user: User) -> Select[tuple[Opportunity]]:
    """Opportunities on accounts ``user`` may see."""
    return select(Opportunity).where(
        Opportunity.account_id.in_(scope_accounts(select(Account.id), user))
    )


def get_opportunity_or_404(opportunity_id: int, user: User) -> Opportunity:
    opp = db.session.scalars(
        visible_opportunities(user).where(Opportunity.id == opportunity_id)
    ).one_or_none()
    if opp is None:
        raise NotFoundError(f"No opportunity {opportunity_id}.")
    return opp


_OPP_FIELDS = ("name", "stage", "amount", "expected_close", "owner_id", "closed")


def _apply_opportunity(opp: Opportunity, user: User, account: Account,
                       values: Mapping[str, Any], *, creating: bool) -> None:
    if creating or "name" in values:
        opp.name = text_value(values, "name", required=True, max_len=200)
    if creating or "stage" in values:
        opp.stage = enum_value(values, "stage", OpportunityStage, OpportunityStage.QUALIFY)
        opp.closed = opp.stage in CLOSED_STAGES
    if creating or "amount" in values:
        opp.amount = money_value(values, "amount")
    if creating or "expected_close" in values:
        opp.expected_close = date_value(values, "expected_close")
    if creating or "owner_id" in values:
        opp.owner_id = assignee_value(values, "owner_id", user, account).id


def create_opportunity(user: User, account_id: int, values: Mapping[str, Any]) -> Opportunity:
    """A deal on an account the user may see; the owner must be able to see it too."""
    account = get_account_or_404(account_id, user)
    opp = Opportunity(account_id=account.id)
    _apply_opportunity(opp, user, account, values, creating=True)
    db.session.add(opp)
    db.session.flush()
    audit.record(user, "opportunity", opp.id, "create", audit.snapshot(opp, _OPP_FIELDS))
    db.session.flush()
    webhooks.emit_object("opportunity.created", opp)
    return opp


def update_opportunity(user: User, opportunity_id: int, values: Mapping[str, Any]) -> Opportunity:
    """Move a deal along the pipeline or change its amount, close date or owner; audited."""
    opp = get_opportunity_or_404(opportunity_id, user)
    account = get_account_or_404(opp.account_id, user)
    before = audit.snapshot(opp, _OPP_FIELDS)
    _apply_opportunity(opp, user, account, values, creating=False)
    opp.updated_at = utcnow()
    audit.record_changes(user, "opportunity", opp.id, before, audit.snapshot(opp, _OPP_FIELDS))
    db.session.flush()
    webhooks.emit_object("opportunity.updated", opp)
    return opp
