"""CRM rules shared by the pages, the JSON API, the CLI and jobs (issue 6).

Account 360, interactions logged from a desk, tasks and follow-ups, opportunities, custom
fields and the check-in pin correction live here; duplicates and merges in
:mod:`geocrm.crm.duplicates`, segments in :mod:`geocrm.crm.segments`, reports in
:mod:`geocrm.crm.reports`, data health in :mod:`geocrm.crm.health`.

Every function takes the acting ``user`` and reaches accounts only through
:mod:`geocrm.access`, so an id outside the user's scope answers 404 like a missing one.
Functions that write flush and never commit: the view (``@commits``) or the job owns the
transaction, so nothing is half-written; validation happens before the first write.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import selectinload

from geocrm.access import get_account_or_404, scope_accounts, visible_accounts
from geocrm.clock import local_today  # noqa: F401  (re-exported for views)
from geocrm.core import audit
from geocrm.core.accounts import move_pin, touch
from geocrm.crm.segments import (  # noqa: F401  (segment_account_ids: the planner's contract)
    CAMPAIGN_OUTCOMES,
    segment_account_ids,
)
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    AssignmentHistory,
    AuditEntry,
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    Role,
    Task,
    TaskStatus,
    Territory,
    User,
    territory_reps,
    utcnow,
)
from geocrm.models.accounts import LocationSource
from geocrm.models.activity import VISIT_OUTCOMES
from geocrm.models.crm import AccountMerge
from geocrm.spatial import haversine_m

# The field app's outcomes, plus what a campaign answer can be.
OUTCOMES = VISIT_OUTCOMES
DESK_KINDS = (
    InteractionKind.CALL,
    InteractionKind.EMAIL,
    InteractionKind.NOTE,
    InteractionKind.VISIT,
    InteractionKind.CAMPAIGN_RESPONSE,
)
OPEN_STAGES = (OpportunityStage.QUALIFY, OpportunityStage.PROPOSAL, OpportunityStage.NEGOTIATION)
CLOSED_STAGES = (OpportunityStage.WON, OpportunityStage.LOST)
TIMELINE_PAGE = 100
MAX_TEXT = 4000
# A check-in is "verified" when the phone's fix was this good; it may move the pin when the
# pin is at least PIN_MIN_OFFSET_M away (closer is GPS noise) and at most PIN_MAX_OFFSET_M
# (farther, the rep more likely checked in at the wrong account than the pin being wrong).
PIN_MAX_ACCURACY_M = 50.0
PIN_MIN_OFFSET_M = 30.0
PIN_MAX_OFFSET_M = 2000.0
_FIELD_KEY = re.compile(r"^[\w][\w .\-]{0,39}$", re.UNICODE)
MAX_CUSTOM_FIELDS = 50


# -- small parsers: every error names its field ---------------------------------------------


def text_value(values: Mapping[str, Any], name: str, *, required: bool = False,
               max_len: int = MAX_TEXT) -> str | None:
    """Stripped text or ``None``; too long or missing-but-required is a 422 naming ``name``."""
    raw = values.get(name)
    text = str(raw).strip() if raw is not None else ""
    if not text:
        if required:
            raise ValidationError(name, "is required")
        return None
    if len(text) > max_len:
        raise ValidationError(name, f"is longer than {max_len} characters")
    return text


def date_value(values: Mapping[str, Any], name: str, *, required: bool = False) -> date | None:
    """An ISO date (``YYYY-MM-DD``)."""
    raw = values.get(name)
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    text = str(raw).strip() if raw is not None else ""
    if not text:
        if required:
            raise ValidationError(name, "is required")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(name, f"not a date (YYYY-MM-DD): {text!r}") from exc


def datetime_value(values: Mapping[str, Any], name: str) -> datetime | None:
    """An ISO date-time (``YYYY-MM-DDTHH:MM``), read as naive UTC; a bare date is midnight."""
    raw = values.get(name)
    if isinstance(raw, datetime):
        return raw.replace(tzinfo=None)
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time())
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError as exc:
        raise ValidationError(name, f"not a date and time: {text!r}") from exc


def int_value(values: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    raw = values.get(name)
    if raw is None or str(raw).strip() == "":
        if required:
            raise ValidationError(name, "is required")
        return None
    try:
        return int(str(raw).strip())
    except ValueError as exc:
        raise ValidationError(name, f"not a whole number: {raw!r}") from exc


def money_value(values: Mapping[str, Any], name: str) -> Decimal | None:
    """A non-negative amount with at most 2 decimals and 12 digits before the point."""
    raw = values.get(name)
    text = str(raw).strip().replace(" ", "").replace(",", ".") if raw is not None else ""
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(name, f"not a number: {raw!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError(name, "must be zero or more")
    if amount >= Decimal("1e12"):
        raise ValidationError(name, "is too large")
    return amount.quantize(Decimal("0.01"))


def enum_value(values: Mapping[str, Any], name: str, enum_cls: Any, default: Any = None) -> Any:
    raw = values.get(name)
    if raw is None or str(raw).strip() == "":
        if default is None:
            raise ValidationError(name, "is required")
        return default
    try:
        return enum_cls(str(raw).strip())
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum_cls)
        raise ValidationError(name, f"must be one of {allowed}") from exc


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


def _assignee(values: Mapping[str, Any], name: str, user: User, account: Account | None) -> User:
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


# -- Account 360 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PinSuggestion:
    """A verified check-in that disagrees with the account's pin (or the account has none)."""

    interaction_id: int
    lat: float
    lon: float
    accuracy_m: float
    offset_m: float | None  # None when the account has no pin yet
    at: datetime
    by: str


@dataclass
class Account360:
    account: Account
    timeline: list[Interaction]
    timeline_total: int
    page: int
    pages: int
    tasks: list[Task]
    opportunities: list[Opportunity]
    audit: list[tuple[AuditEntry, str]]
    merges: list[AccountMerge]
    territory_history: list[tuple[AssignmentHistory, str]]  # rows, newest first, and by whom
    pin: PinSuggestion | None
    assignees: list[User]
    tasked_interactions: set[int]
    user_names: dict[int, str]


def account_360(account_id: int, user: User, *, page: int = 1) -> Account360:
    """Everything about one account the user may see, for the 360 page.

    The timeline is the full history, newest first, ``TIMELINE_PAGE`` per page.
    """
    account = get_account_or_404(account_id, user)
    total = db.session.scalar(
        select(func.count()).select_from(Interaction).where(Interaction.account_id == account.id)
    ) or 0
    pages = max(1, -(-int(total) // TIMELINE_PAGE))
    page = min(max(page, 1), pages)
    timeline = list(
        db.session.scalars(
            select(Interaction)
            .options(selectinload(Interaction.user))
            .where(Interaction.account_id == account.id)
            .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
            .limit(TIMELINE_PAGE)
            .offset((page - 1) * TIMELINE_PAGE)
        )
    )
    tasks = list(
        db.session.scalars(
            select(Task)
            .options(selectinload(Task.assignee))
            .where(Task.account_id == account.id)
            .order_by(
                (Task.status != TaskStatus.OPEN), Task.due_date.is_(None), Task.due_date, Task.id
            )
        )
    )
    opportunities = list(
        db.session.scalars(
            select(Opportunity)
            .where(Opportunity.account_id == account.id)
            .order_by(Opportunity.closed, Opportunity.expected_close, Opportunity.id)
        )
    )
    owner_ids = {o.owner_id for o in opportunities if o.owner_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(owner_ids))).all())
    merges = list(
        db.session.scalars(
            select(AccountMerge)
            .where(AccountMerge.survivor_id == account.id)
            .order_by(AccountMerge.at.desc())
        )
    )
    return Account360(
        account=account,
        timeline=timeline,
        timeline_total=int(total),
        page=page,
        pages=pages,
        tasks=tasks,
        opportunities=opportunities,
        audit=audit.trail("account", account.id),
        merges=merges,
        territory_history=[
            (h, who or "")
            for h, who in db.session.execute(
                select(AssignmentHistory, User.name)
                .outerjoin(User, User.id == AssignmentHistory.changed_by_id)
                .where(AssignmentHistory.account_id == account.id)
                .order_by(AssignmentHistory.since.desc(), AssignmentHistory.id.desc())
                .limit(50)
            )
        ],
        pin=pin_suggestion(account, user),
        assignees=assignable_users(account),
        tasked_interactions={t.interaction_id for t in tasks if t.interaction_id},
        user_names={int(k): str(v) for k, v in names.items()},
    )


# -- the check-in pin correction --------------------------------------------------------------


def _may_correct_pin(user: User, visit: Interaction) -> bool:
    return visit.user_id == user.id or user.role in (Role.ADMIN, Role.MANAGER)


def pin_suggestion(account: Account, user: User) -> PinSuggestion | None:
    """The newest verified check-in at ``account`` that says its pin is wrong, if any.

    Offered to the rep who checked in, and to managers and admins. Verified: a GPS fix
    within ``PIN_MAX_ACCURACY_M``. It disagrees when it is ``PIN_MIN_OFFSET_M`` to
    ``PIN_MAX_OFFSET_M`` from the pin, or when the account has no pin at all.
    """
    stmt = (
        select(Interaction, User.name)
        .outerjoin(User, User.id == Interaction.user_id)
        .where(
            Interaction.account_id == account.id,
            Interaction.kind == InteractionKind.VISIT,
            Interaction.checkin_lat.is_not(None),
            Interaction.checkin_lon.is_not(None),
            Interaction.checkin_accuracy_m.is_not(None),
            Interaction.checkin_accuracy_m <= PIN_MAX_ACCURACY_M,
        )
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(1)
    )
    if user.role not in (Role.ADMIN, Role.MANAGER):
        stmt = stmt.where(Interaction.user_id == user.id)
    row = db.session.execute(stmt).first()
    if row is None:
        return None
    visit, name = row
    # A pin already set from this very check-in is not offered again.
    if account.lat is not None and account.lon is not None:
        offset = haversine_m(account.lat, account.lon, visit.checkin_lat, visit.checkin_lon)
        if not PIN_MIN_OFFSET_M <= offset <= PIN_MAX_OFFSET_M:
            return None
    else:
        offset = None
    return PinSuggestion(
        interaction_id=visit.id,
        lat=float(visit.checkin_lat),
        lon=float(visit.checkin_lon),
        accuracy_m=float(visit.checkin_accuracy_m),
        offset_m=None if offset is None else round(offset, 1),
        at=visit.checkin_at or visit.occurred_at,
        by=name or "someone",
    )


def correct_pin_from_checkin(user: User, account_id: int, interaction_id: int) -> Account:
    """Move the account's pin to a verified check-in position, re-place it, audit it."""
    account = get_account_or_404(account_id, user)
    visit = db.session.get(Interaction, interaction_id)
    if visit is None or visit.account_id != account.id:
        raise NotFoundError(f"No check-in {interaction_id} at this account.")
    if not _may_correct_pin(user, visit):
        raise NotFoundError(f"No check-in {interaction_id} at this account.")
    if (
        visit.kind != InteractionKind.VISIT
        or visit.checkin_lat is None
        or visit.checkin_lon is None
        or visit.checkin_accuracy_m is None
        or visit.checkin_accuracy_m > PIN_MAX_ACCURACY_M
    ):
        raise ValidationError(
            "interaction_id",
            f"is not a verified check-in (GPS accuracy within {PIN_MAX_ACCURACY_M:.0f} m)",
        )
    if account.lat is not None and account.lon is not None:
        offset = haversine_m(account.lat, account.lon, visit.checkin_lat, visit.checkin_lon)
        if offset > PIN_MAX_OFFSET_M:
            raise ValidationError(
                "interaction_id",
                f"the check-in is {offset / 1000:.1f} km from the pin: too far to be a pin error",
            )
    now = utcnow()
    # A good GPS fix on site beats any geocoder; the better the fix, the surer.
    move_pin(account, float(visit.checkin_lat), float(visit.checkin_lon), user=user,
             source=LocationSource.CHECKIN.value,
             confidence=0.95 if visit.checkin_accuracy_m <= 20 else 0.9,
             reason="pin moved to a check-in", now=now, audit_extra={"from_checkin": visit.id})
    touch(account, now)
    db.session.flush()
    return account


# -- interactions logged from a desk ----------------------------------------


def log_interaction(user: User, account_id: int, values: Mapping[str, Any]) -> Interaction:
    """Record a call, email, note, visit or campaign response; optionally its follow-up task.

    ``values``: ``kind``, ``occurred_at`` (default now), ``outcome``, ``notes``,
    ``next_step``, and, to make the next step a task, ``task_due`` (and ``task_assignee``).
    """
    account = get_account_or_404(account_id, user)
    kind = enum_value(values, "kind", InteractionKind, InteractionKind.NOTE)
    if kind not in DESK_KINDS:
        raise ValidationError("kind", "cannot be logged here")
    outcome = text_value(values, "outcome", max_len=40)
    allowed = CAMPAIGN_OUTCOMES if kind == InteractionKind.CAMPAIGN_RESPONSE else OUTCOMES
    if outcome is not None and outcome not in allowed:
        raise ValidationError("outcome", f"must be one of {', '.join(allowed)}")
    if kind == InteractionKind.CAMPAIGN_RESPONSE and outcome is None:
        raise ValidationError("outcome", "is required for a campaign response")
    notes = text_value(values, "notes")
    next_step = text_value(values, "next_step", max_len=1000)
    at = datetime_value(values, "occurred_at") or utcnow()
    if at > utcnow().replace(microsecond=0) + _FUTURE_SLACK:
        raise ValidationError("occurred_at", "is in the future")
    due = date_value(values, "task_due")
    assignee = _assignee(values, "task_assignee", user, account)
    if due is not None and not next_step:
        raise ValidationError("next_step", "is required to create a follow-up task")
    item = Interaction(
        uuid=str(uuidlib.uuid4()),
        user_id=user.id,
        account_id=account.id,
        kind=kind,
        occurred_at=at,
        outcome=outcome,
        notes=notes,
        next_step=next_step,
    )
    db.session.add(item)
    if kind == InteractionKind.VISIT and (account.last_visit_at is None
                                         or account.last_visit_at < at):
        account.last_visit_at = at
    db.session.flush()
    if due is not None and next_step:
        db.session.add(_task_from(item, next_step, due, assignee, user))
    db.session.flush()
    return item


_FUTURE_SLACK = timedelta(days=1)  # clocks and time zones: a day ahead is a typo, not drift


def _task_from(item: Interaction, title: str, due: date | None, assignee: User,
               user: User) -> Task:
    return Task(
        title=title[:200],
        account_id=item.account_id,
        assignee_id=assignee.id,
        created_by_id=user.id,
        interaction_id=item.id,
        due_date=due,
        notes=f"Next step from the {item.kind.value} of {item.occurred_at.date().isoformat()}",
    )


# -- tasks ----------------------------------------


def visible_tasks(user: User) -> Select[tuple[Task]]:
    """Tasks ``user`` may see: assigned to or created by them, or on an account they see."""
    visible = scope_accounts(select(Account.id), user)
    return select(Task).where(
        or_(
            Task.assignee_id == user.id,
            Task.created_by_id == user.id,
            Task.account_id.in_(visible) if user.is_authenticated else false(),
        )
    )


def get_task_or_404(task_id: int, user: User) -> Task:
    task = db.session.scalars(visible_tasks(user).where(Task.id == task_id)).one_or_none()
    if task is None:
        raise NotFoundError(f"No task {task_id}.")
    return task


def create_task(user: User, values: Mapping[str, Any]) -> Task:
    """A task on an account the user may see (or a personal one without an account)."""
    account_id = int_value(values, "account_id")
    account = get_account_or_404(account_id, user) if account_id is not None else None
    title = text_value(values, "title", required=True, max_len=200)
    assignee = _assignee(values, "assignee_id", user, account)
    task = Task(
        title=title,
        notes=text_value(values, "notes"),
        account_id=account.id if account else None,
        assignee_id=assignee.id,
        created_by_id=user.id,
        due_date=date_value(values, "due_date"),
    )
    db.session.add(task)
    db.session.flush()
    audit.record(user, "task", task.id, "create",
                 audit.snapshot(task, ("title", "account_id", "assignee_id", "due_date")))
    db.session.flush()
    return task


def task_from_next_step(user: User, interaction_id: int, values: Mapping[str, Any]) -> Task:
    """Turn an interaction's "next step" into a follow-up task (once per interaction)."""
    item = db.session.get(Interaction, interaction_id)
    if item is None:
        raise NotFoundError(f"No interaction {interaction_id}.")
    account = get_account_or_404(item.account_id, user)
    if not item.next_step:
        raise ValidationError("next_step", "this interaction has no next step")
    existing = db.session.scalar(select(Task.id).where(Task.interaction_id == item.id))
    if existing is not None:
        raise ConflictError("That next step is already a task.", field="interaction_id")
    title = text_value(values, "title", max_len=200) or item.next_step
    task = _task_from(item, title, date_value(values, "due_date"),
                      _assignee(values, "assignee_id", user, account), user)
    db.session.add(task)
    db.session.flush()
    audit.record(user, "task", task.id, "create",
                 {"interaction_id": item.id, "title": task.title,
                  "due_date": audit.jsonable(task.due_date)})
    db.session.flush()
    return task


def update_task(user: User, task_id: int, values: Mapping[str, Any]) -> Task:
    """Change a task's status, due date or assignee; audited field by field."""
    task = get_task_or_404(task_id, user)
    account = db.session.get(Account, task.account_id) if task.account_id else None
    before = audit.snapshot(task, _TASK_FIELDS)
    if "status" in values:
        status = enum_value(values, "status", TaskStatus)
        if status != task.status:
            task.status = status
            task.completed_at = utcnow() if status == TaskStatus.DONE else None
    if "due_date" in values:
        task.due_date = date_value(values, "due_date")
    if "assignee_id" in values:
        task.assignee_id = _assignee(values, "assignee_id", user, account).id
    if "title" in values:
        task.title = text_value(values, "title", required=True, max_len=200)
    audit.record_changes(user, "task", task.id, before, audit.snapshot(task, _TASK_FIELDS))
    db.session.flush()
    return task


_TASK_FIELDS = ("title", "status", "due_date", "assignee_id")


@dataclass
class HomeTasks:
    due_today: list[Task]
    overdue: list[Task]
    upcoming: list[Task]


def home_tasks(user: User, today: date, *, limit: int = 50) -> HomeTasks:
    """The user's own open tasks: due today, overdue (oldest first), and the next ones."""
    mine = (
        select(Task)
        .options(selectinload(Task.account))
        .where(Task.assignee_id == user.id, Task.status == TaskStatus.OPEN)
    )
    due_today = db.session.scalars(mine.where(Task.due_date == today).order_by(Task.id)).all()
    overdue = db.session.scalars(
        mine.where(Task.due_date < today).order_by(Task.due_date, Task.id).limit(limit)
    ).all()
    upcoming = db.session.scalars(
        mine.where(or_(Task.due_date > today, Task.due_date.is_(None)))
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        .limit(10)
    ).all()
    return HomeTasks(list(due_today), list(overdue), list(upcoming))


def task_list(user: User, *, view: str, today: date, limit: int = 500) -> list[Task]:
    """The task page: ``mine`` (open, assigned to me), ``overdue``, ``today`` or ``team``
    (open tasks on every account I may see, for managers)."""
    base = visible_tasks(user).options(selectinload(Task.account), selectinload(Task.assignee))
    base = base.where(Task.status == TaskStatus.OPEN)
    if view == "team":
        stmt = base
    elif view == "overdue":
        stmt = base.where(Task.assignee_id == user.id, Task.due_date < today)
    elif view == "today":
        stmt = base.where(Task.assignee_id == user.id, Task.due_date == today)
    elif view == "mine":
        stmt = base.where(Task.assignee_id == user.id)
    else:
        raise ValidationError("view", "must be mine, today, overdue or team")
    stmt = stmt.order_by(Task.due_date.is_(None), Task.due_date, Task.id).limit(limit)
    return list(db.session.scalars(stmt))


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
        opp.owner_id = _assignee(values, "owner_id", user, account).id


def create_opportunity(user: User, account_id: int, values: Mapping[str, Any]) -> Opportunity:
    """A deal on an account the user may see; the owner must be able to see it too."""
    account = get_account_or_404(account_id, user)
    opp = Opportunity(account_id=account.id)
    _apply_opportunity(opp, user, account, values, creating=True)
    db.session.add(opp)
    db.session.flush()
    audit.record(user, "opportunity", opp.id, "create", audit.snapshot(opp, _OPP_FIELDS))
    db.session.flush()
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
    return opp


# -- custom fields ----------------------------------------


def set_custom_field(user: User, account_id: int, key: str, value: str | None) -> Account:
    """Set (or, with an empty value, remove) one custom field; audited as a field change."""
    account = get_account_or_404(account_id, user)
    key = (key or "").strip()
    if not _FIELD_KEY.match(key):
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
    from geocrm.crm.segments import visible_segments
    from geocrm.models.crm import Segment

    rows = db.session.execute(
        visible_segments(user).with_only_columns(Segment.id, Segment.name)
        .order_by(Segment.name, Segment.id)
    ).all()
    return [(int(i), str(n)) for i, n in rows]
