"""CRM rules shared by the pages, the JSON API, the CLI and jobs (issue 6).

Account 360, interactions logged from a desk, tasks and follow-ups, opportunities, custom
fields and the check-in pin correction live here; duplicates and merges in
:mod:`geocrm.crm.duplicates`, segments in :mod:`geocrm.crm.segments`, reports in
:mod:`geocrm.crm.reports`, data health in :mod:`geocrm.crm.health`.

The rules live in one module per part (:mod:`~geocrm.crm.values` the shared parsers and
limits, :mod:`~geocrm.crm.people` who sees what, :mod:`~geocrm.crm.account360` the account
page and the pin correction, :mod:`~geocrm.crm.tasks` desk interactions and tasks,
:mod:`~geocrm.crm.opportunities` deals); this module keeps custom fields and is the one
name the pages, the API and the planner import them by.

Every function takes the acting ``user`` and reaches accounts only through
:mod:`geocrm.access`, so an id outside the user's scope answers 404 like a missing one.
Functions that write flush and never commit: the view (``@commits``) or the job owns the
transaction, so nothing is half-written; validation happens before the first write.
"""

from __future__ import annotations

from sqlalchemy import func, select

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.clock import local_today  # noqa: F401  (re-exported for views)
from geocrm.core import audit
from geocrm.crm.account360 import (
    Account360,
    PinSuggestion,
    account_360,
    correct_pin_from_checkin,
    pin_suggestion,
)
from geocrm.crm.opportunities import (
    create_opportunity,
    get_opportunity_or_404,
    update_opportunity,
    visible_opportunities,
)
from geocrm.crm.people import assignable_users, can_see
from geocrm.crm.segments import (  # noqa: F401  (segment_account_ids: the planner's contract)
    CAMPAIGN_OUTCOMES,
    segment_account_ids,
    visible_segments,
)
from geocrm.crm.tasks import (
    HomeTasks,
    create_task,
    get_interaction_or_404,
    get_task_or_404,
    home_tasks,
    log_interaction,
    task_from_next_step,
    task_list,
    update_task,
    visible_interactions,
    visible_tasks,
)
from geocrm.crm.values import (
    CLOSED_STAGES,
    DESK_KINDS,
    FIELD_KEY,
    MAX_CUSTOM_FIELDS,
    MAX_TEXT,
    OPEN_STAGES,
    OUTCOMES,
    PIN_MAX_ACCURACY_M,
    PIN_MAX_OFFSET_M,
    PIN_MIN_OFFSET_M,
    TIMELINE_PAGE,
    date_value,
    datetime_value,
    enum_value,
    int_value,
    money_value,
    text_value,
)
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, OpportunityStage, User, utcnow
from geocrm.models.crm import Segment

# -- custom fields ----------------------------------------


def set_custom_field(user: User, account_id: int, key: str, value: str | None) -> Account:
    """Set (or, with an empty value, remove) one custom field; audited as a field change."""
    account = get_account_or_404(account_id, user)
    key = (key or "").strip()
    if not FIELD_KEY.match(key):
        raise ValidationError(
            "key", "1–40 letters, digits, spaces, dots or dashes, starting with a letter or digit"
        )
    text = (value or "").strip()
    if len(text) > 500:
        raise ValidationError("value", "is longer than 500 characters")
    fields = dict(account.custom_fields or {})
    if text:
        if key not in fields and len(fields) >= MAX_CUSTOM_FIELDS:
            raise ValidationError("key", f"an account has at most {MAX_CUSTOM_FIELDS} fields")
        fields[key] = text
    elif key in fields:
        del fields[key]
    else:
        raise ValidationError("value", "is required")
    before = {"custom_fields": dict(account.custom_fields or {})}
    account.custom_fields = fields
    account.version = (account.version or 1) + 1
    account.updated_at = utcnow()
    audit.record_changes(user, "account", account.id, before, {"custom_fields": fields})
    db.session.flush()
    return account


def scoped_account_count(user: User) -> int:
    """How many (non-archived) accounts ``user`` may see."""
    stmt = visible_accounts(user).where(Account.archived.is_(False))
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def segment_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of the segments ``user`` may open (theirs and the shared ones), by name.

    For pickers in other features (the planner): listing every segment would show the
    names of other users' private segments, which :func:`segment_account_ids` then refuses.
    """
    rows = db.session.execute(
        visible_segments(user).with_only_columns(Segment.id, Segment.name)
        .order_by(Segment.name, Segment.id)
    ).all()
    return [(int(i), str(n)) for i, n in rows]


__all__ = [
    "Account360",
    "CAMPAIGN_OUTCOMES",
    "CLOSED_STAGES",
    "DESK_KINDS",
    "HomeTasks",
    "MAX_CUSTOM_FIELDS",
    "MAX_TEXT",
    "OPEN_STAGES",
    "OUTCOMES",
    "PIN_MAX_ACCURACY_M",
    "PIN_MAX_OFFSET_M",
    "PIN_MIN_OFFSET_M",
    "OpportunityStage",
    "PinSuggestion",
    "TIMELINE_PAGE",
    "account_360",
    "assignable_users",
    "can_see",
    "correct_pin_from_checkin",
    "create_opportunity",
    "create_task",
    "date_value",
    "datetime_value",
    "enum_value",
    "get_interaction_or_404",
    "get_opportunity_or_404",
    "get_task_or_404",
    "home_tasks",
    "int_value",
    "local_today",
    "log_interaction",
    "money_value",
    "pin_suggestion",
    "scoped_account_count",
    "segment_account_ids",
    "segment_choices",
    "set_custom_field",
    "task_from_next_step",
    "task_list",
    "text_value",
    "update_opportunity",
    "update_task",
    "visible_interactions",
    "visible_opportunities",
    "visible_tasks",
]
