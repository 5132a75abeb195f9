"""Account 360 (everything about one account on one page) and the check-in pin correction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from geocrm.access import get_account_or_404
from geocrm.core import audit
from geocrm.core.accounts import move_pin, touch
from geocrm.core.geocoding import is_low_confidence
from geocrm.crm.people import assignable_users
from geocrm.crm.values import (
    PIN_MAX_ACCURACY_M,
    PIN_MAX_OFFSET_LOW_M,
    PIN_MAX_OFFSET_M,
    PIN_MIN_OFFSET_M,
    TIMELINE_PAGE,
)
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    AssignmentHistory,
    AuditEntry,
    Interaction,
    InteractionKind,
    Opportunity,
    Role,
    Task,
    TaskStatus,
    User,
    utcnow,
)
from geocrm.models.accounts import LocationSource
from geocrm.models.crm import AccountMerge
from geocrm.spatial import haversine_m

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
    low_confidence: bool = False  # the pin is only a geocoder's street, postcode or town


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
    ``PIN_MAX_OFFSET_M`` from the pin, or when the account has no pin at all; a low-confidence
    pin (the geocoder's street, postcode or town) is disputed by any verified check-in up to
    ``PIN_MAX_OFFSET_LOW_M`` away.
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
    # A pin already set from this very check-in is not offered again. A low-confidence pin
    # (a geocoder's street, postcode or town) is worse than any verified check-in nearby.
    low = is_low_confidence(account)
    if account.lat is not None and account.lon is not None:
        offset = haversine_m(account.lat, account.lon, visit.checkin_lat, visit.checkin_lon)
        nearest, farthest = (0.0, PIN_MAX_OFFSET_LOW_M) if low else (
            PIN_MIN_OFFSET_M, PIN_MAX_OFFSET_M)
        if not nearest <= offset <= farthest:
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
        low_confidence=low,
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
        if offset > (PIN_MAX_OFFSET_LOW_M if is_low_confidence(account) else PIN_MAX_OFFSET_M):
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
