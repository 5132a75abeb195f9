"""Account rules shared by pages, the JSON API, the CLI and jobs.

Every function takes the acting ``user`` and goes through :mod:`geocrm.access`, so a
caller cannot forget the scoping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

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


#: What a contact keeps and how long each text may be (the columns' sizes).
CONTACT_TEXT = {"name": 120, "title": 120, "phone": 40, "email": 254, "notes": 4000}


def _contact_values(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The contact fields in ``values``, checked: a name, an email with an ``@``, lengths.

    ``partial`` (an edit) takes only the fields given; a new contact needs a name."""
    out: dict[str, Any] = {}
    for key, limit in CONTACT_TEXT.items():
        if partial and key not in values:
            continue
        raw = values.get(key)
        if raw is not None and not isinstance(raw, str):
            raise ValidationError(key, "must be text")
        text = (raw or "").strip()
        if len(text) > limit:
            raise ValidationError(key, f"is longer than {limit} characters")
        out[key] = text or None
    if (not partial or "name" in values) and not out.get("name"):
        raise ValidationError("name", "is required")
    if out.get("email") and "@" not in out["email"]:
        raise ValidationError("email", "must be an email address")
    if "is_primary" in values:
        out["is_primary"] = values.get("is_primary") in (True, "1", "true", "on", "yes")
    return out


def add_contact(account_id: int, user: User, values: Mapping[str, Any]) -> Contact:
    """Add a person to an account the user may see."""
    account = get_account_or_404(account_id, user)
    contact = Contact(account_id=account.id, **_contact_values(values, partial=False))
    db.session.add(contact)
    db.session.flush()
    return contact


def visible_contacts(user: User) -> Select[tuple[Contact]]:
    """Contacts of the accounts ``user`` may see (the accounts' rule, nothing of its own)."""
    return select(Contact).where(Contact.account_id.in_(visible_accounts(user)
                                                        .with_only_columns(Account.id)))


def get_contact_or_404(contact_id: int, user: User, *, lock: bool = False) -> Contact:
    """The contact if its account is visible to ``user`` (404 otherwise); ``lock`` holds its
    row until the transaction ends, so a version checked now is the one written over."""
    stmt = visible_contacts(user).where(Contact.id == contact_id)
    contact = db.session.scalars(stmt.with_for_update(of=Contact) if lock else stmt
                                 ).one_or_none()
    if contact is None:
        raise NotFoundError(f"No contact {contact_id}.")
    return contact


def update_contact(contact_id: int, user: User, values: Mapping[str, Any]) -> Contact:
    """Change the fields given of a contact on a visible account; audited."""
    contact = get_contact_or_404(contact_id, user)
    changes = _contact_values(values, partial=True)
    before = audit.snapshot(contact, tuple(changes))
    for key, value in changes.items():
        setattr(contact, key, value)
    audit.record_changes(user, "contact", contact.id, before, audit.snapshot(contact,
                                                                             tuple(changes)))
    db.session.flush()
    return contact


def delete_contact(contact_id: int, user: User) -> None:
    """Remove a contact from a visible account; the audit trail keeps its name."""
    contact = get_contact_or_404(contact_id, user)
    audit.record(user, "contact", contact.id, "delete",
                 {"name": contact.name, "account_id": contact.account_id})
    db.session.delete(contact)
    db.session.flush()

