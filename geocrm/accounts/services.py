"""Account rules shared by pages, the JSON API, the CLI and jobs.

Every function takes the acting ``user`` and goes through :mod:`geocrm.access`, so a
caller cannot forget the scoping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.core import accounts as rules
from geocrm.core import audit
from geocrm.core.account_filters import AccountFilters
from geocrm.core.names import reading_order
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Contact,
    Interaction,
    Task,
    TaskStatus,
    User,
)


def list_accounts(
    user: User, filters: AccountFilters, *, page: int = 1, per_page: int = 50
) -> tuple[list[Account], int]:
    """One page of the accounts ``user`` may see, and the total count."""
    stmt = filters.apply(visible_accounts(user).where(Account.archived.is_(False)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(*reading_order())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), int(total)


#: The orders a page of accounts can come in (``-`` first: descending); ``id`` breaks ties so
#: a cursor always names one place in the order.
SORTS = ("id", "-id", "name", "-name", "updated_at", "-updated_at")


def sort_column(sort: str) -> Any:
    """What ``sort`` orders by: ``name`` is the lists' reading order (a Japanese name by its
    フリガナ), the same rule as :func:`list_accounts`, not the name's code points."""
    key = sort.lstrip("-")
    return reading_order()[0] if key == "name" else getattr(Account, key)


def sort_value(account: Account, sort: str) -> Any:
    """The value of ``account`` in :func:`sort_column` (what a cursor remembers)."""
    key = sort.lstrip("-")
    return (account.reading_key or account.name) if key == "name" else getattr(account, key)


def account_page(
    user: User,
    filters: AccountFilters,
    *,
    sort: str = "id",
    after: tuple[Any, int] | None = None,
    limit: int = 100,
    updated_since: datetime | None = None,
) -> list[Account]:
    """Up to ``limit`` accounts ``user`` may see, in ``sort`` order, after the place ``after``
    (the sort value and id of the previous page's last row).

    Keyset paging rather than offsets: a page costs the same at the end as at the start, and
    an account edited between two pages is neither skipped nor repeated by the others'
    shifting. ``updated_since`` (inclusive) is the incremental sync of an integration;
    archived accounts are included then, so a client learns about the archiving.
    """
    if sort not in SORTS:
        raise ValidationError("sort", f"must be one of {', '.join(SORTS)}")
    column = sort_column(sort)
    descending = sort.startswith("-")
    stmt = filters.apply(visible_accounts(user))
    if updated_since is None:
        stmt = stmt.where(Account.archived.is_(False))
    else:
        stmt = stmt.where(Account.updated_at >= updated_since)
    if after is not None:
        value, last_id = after
        if sort.lstrip("-") == "id":
            stmt = stmt.where(Account.id < last_id if descending else Account.id > last_id)
        elif descending:
            stmt = stmt.where(or_(column < value, and_(column == value, Account.id < last_id)))
        else:
            stmt = stmt.where(or_(column > value, and_(column == value, Account.id > last_id)))
    order = (column.desc(), Account.id.desc()) if descending else (column, Account.id)
    return list(db.session.scalars(stmt.order_by(*order).limit(limit)))


def count_accounts(user: User, filters: AccountFilters, *,
                   updated_since: datetime | None = None) -> int:
    """How many accounts :func:`account_page` would walk through in all."""
    stmt = filters.apply(visible_accounts(user))
    if updated_since is None:
        stmt = stmt.where(Account.archived.is_(False))
    else:
        stmt = stmt.where(Account.updated_at >= updated_since)
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


@dataclass
class AccountDetail:
    account: Account
    interactions: list[Interaction]
    open_tasks: list[Task]


def account_detail(account_id: int, user: User) -> AccountDetail:
    """The account card: the account, its recent interactions and open tasks."""
    account = get_account_or_404(account_id, user)
    interactions = db.session.scalars(
        select(Interaction)
        .where(Interaction.account_id == account.id)
        .order_by(Interaction.occurred_at.desc())
        .limit(50)
    ).all()
    tasks = db.session.scalars(
        select(Task)
        .where(Task.account_id == account.id, Task.status == TaskStatus.OPEN)
        .order_by(Task.due_date)
    ).all()
    return AccountDetail(account, list(interactions), list(tasks))


def locked_account(account_id: int, user: User) -> Account:
    """The account, its row locked until the transaction ends (PostgreSQL; SQLite writes
    one at a time anyway), so a version checked now is still the version written over."""
    account = db.session.scalars(
        visible_accounts(user).where(Account.id == account_id).with_for_update(of=Account)
    ).one_or_none()
    if account is None:
        raise NotFoundError(f"No account {account_id}.")
    return account


# Fields whose changes the audit trail records (the editable ones and what follows them).
AUDITED = (
    "name",
    "name_reading",
    "address",
    "country",
    "postcode",
    "region",
    "city",
    "district",
    "street",
    "housenumber",
    "building",
    "phone",
    "email",
    "website",
    "stage",
    "opening_hours",
    "visit_minutes",
    "cadence_days",
    "priority",
    "required_skills",
    "value",
    "lat",
    "lon",
    "location_source",
    "location_confidence",
    "territory_id",
    "owner_id",
    "category",
    "custom_fields",
    "archived",
)

def update_account(account_id: int, user: User, values: dict[str, Any]) -> Account:
    """Apply an edit: every field through the account rules, the pin through ``move_pin``.

    Nothing is written when a field is invalid: the error names it. Flushes; the form
    view, the API PATCH or the sync batch commits.
    """
    account = get_account_or_404(account_id, user)
    clean = rules.clean_values(values, pin=(account.lat, account.lon))
    for key in ("visit_minutes", "priority", "stage"):
        if key in clean and clean[key] is None:  # required columns: blank leaves them be
            del clean[key]
    # The one line and the parts agree after every edit (the form posts both).
    rules.settle_address({k: getattr(account, k) for k in rules.ADDRESS_FIELDS}, clean)
    before = audit.snapshot(account, AUDITED)
    pin = (clean.pop("lat", account.lat), clean.pop("lon", account.lon))
    changed = False
    for key, value in clean.items():
        if getattr(account, key) != value:
            setattr(account, key, value)
            changed = True
    if pin != (account.lat, account.lon):
        rules.move_pin(account, *pin, user=user, source="manual", reason="pin moved by hand",
                       audit_action=None)
        changed = True
    if not changed:
        return account
    rules.refresh_keys(account)
    rules.touch(account)
    # Field-level trail, including what the edit moved with it (e.g. the territory).
    audit.record_changes(user, "account", account.id, before, audit.snapshot(account, AUDITED))
    db.session.flush()
    return account


def add_contact(account_id: int, user: User, values: dict[str, Any]) -> Contact:
    """Add a person to an account the user may see."""
    account = get_account_or_404(account_id, user)
    name = (values.get("name") or "").strip()
    if not name:
        raise ValidationError("name", "is required")
    email = (values.get("email") or "").strip() or None
    if email and "@" not in email:
        raise ValidationError("email", "must be an email address")
    contact = Contact(
        account_id=account.id,
        name=name[:120],
        title=(values.get("title") or None),
        phone=(values.get("phone") or None),
        email=email,
    )
    db.session.add(contact)
    db.session.flush()
    return contact

