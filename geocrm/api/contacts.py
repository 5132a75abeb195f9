"""Contacts in ``/api/v1`` (issue 18): the people at the accounts a user may see.

Scoping is the accounts' rule (:func:`geocrm.accounts.services.visible_contacts`): a contact
of an account out of reach answers 404 like a missing one. Entity tags are the contact's
content (:func:`geocrm.api.object_lists.content_etag`); a write with a stale ``If-Match``
answers 412.
"""

from __future__ import annotations

from typing import Any, Literal

from flask_login import current_user, login_required
from pydantic import Field

from geocrm.accounts import services
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
from geocrm.models import Contact


def text(limit: int, description: str | None = None) -> Any:
    """An optional text field of at most ``limit`` characters (``null`` clears it)."""
    return Field(None, max_length=limit, pattern=NO_NUL, description=description)


SORTS = ("id", "-id", "name", "-name", "updated_at", "-updated_at")
KEYS = {"id": SortKey(Contact.id), "name": SortKey(Contact.name, "str"),
        "updated_at": SortKey(Contact.updated_at, "time")}


def contact_json(c: Contact) -> dict[str, Any]:
    return {"id": c.id, "account_id": c.account_id, "name": c.name, "title": c.title,
            "phone": c.phone, "email": c.email, "notes": c.notes,
            "is_primary": bool(c.is_primary), "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at)}


class ContactListQuery(PageQuery):
    """Filters, order and place of a page of contacts."""

    account: list[DbId] = Field(default_factory=list, description="only these accounts'")
    q: str | None = Field(None, max_length=100, pattern=NO_NUL,
                          description="part of the name, email or phone")
    sort: Literal[SORTS] = "id"  # type: ignore[valid-type]


class ContactOut(Loose):
    id: int
    account_id: int
    name: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    notes: str | None = None
    is_primary: bool
    created_at: str
    updated_at: str


class ContactPage(Loose):
    total: int
    items: list[ContactOut]
    next_cursor: str | None = Field(description="null on the last page")


class ContactEdit(Schema):
    """The fields to change (``null`` clears one; ``name`` may not be empty)."""

    name: str | None = text(120)
    title: str | None = text(120)
    phone: str | None = text(40)
    email: str | None = text(254, "must contain @")
    notes: str | None = text(4000)
    is_primary: bool | None = None


class ContactNew(ContactEdit):
    """A person at an account the user may see."""

    account_id: DbId
    name: str = Field(min_length=1, max_length=120, pattern=NO_NUL)  # type: ignore[assignment]


@bp.route("/contacts")
@login_required
@api_schema(query=ContactListQuery, responses={200: ContactPage})
def contacts(query: ContactListQuery) -> Any:
    """A page of the contacts of the accounts the user may see (keyset ``cursor``)."""
    stmt = services.visible_contacts(current_user)
    if query.account:
        stmt = stmt.where(Contact.account_id.in_(query.account))
    if query.q and query.q.strip():
        q = query.q.strip()
        stmt = stmt.where(Contact.name.icontains(q, autoescape=True)
                          | Contact.email.icontains(q, autoescape=True)
                          | Contact.phone.icontains(q, autoescape=True))
    stmt = changed_since(stmt, Contact.updated_at, query.updated_since)
    rows, next_cursor, total = keyset_page(stmt, sort=query.sort, keys=KEYS,
                                           id_column=Contact.id, cursor=query.cursor,
                                           limit=query.limit)
    return page_json(rows, contact_json, next_cursor, total)


@bp.route("/contacts", methods=["POST"])
@login_required
@commits
@api_schema(body=ContactNew, responses={201: ContactOut}, errors=(404,),
            headers={201: {"ETag": "the contact's entity tag"}})
def create_contact(body: ContactNew) -> Any:
    """Add a contact to an account the user may see (404 for any other account)."""
    values = body.model_dump(exclude_unset=True)
    contact = services.add_contact(values.pop("account_id"), current_user, values)
    return etag_answer(contact_json(contact), 201)


@bp.route("/contacts/<int:contact_id>")
@login_required
@api_schema(responses={200: ContactOut}, headers={200: {"ETag": "the contact's entity tag"}})
def contact(contact_id: int) -> Any:
    """One contact (``ETag``: its content)."""
    return etag_answer(contact_json(services.get_contact_or_404(contact_id, current_user)))


@bp.route("/contacts/<int:contact_id>", methods=["PATCH"])
@login_required
@commits
@api_schema(body=ContactEdit, responses={200: ContactOut}, errors=(412,),
            headers={200: {"ETag": "the contact's new entity tag"}})
def patch_contact(contact_id: int, body: ContactEdit) -> Any:
    """Change fields of a contact; 422 names a bad field, 412 a stale ``If-Match``."""
    current = services.get_contact_or_404(contact_id, current_user, lock=True)
    check_unchanged(contact_json(current))
    return etag_answer(contact_json(services.update_contact(
        contact_id, current_user, body.model_dump(exclude_unset=True))))


@bp.route("/contacts/<int:contact_id>", methods=["DELETE"])
@login_required
@commits
@api_schema(responses={204: None}, errors=(412,))
def delete_contact(contact_id: int) -> Any:
    """Remove a contact (audited); 412 on a stale ``If-Match``."""
    current = services.get_contact_or_404(contact_id, current_user, lock=True)
    check_unchanged(contact_json(current))
    services.delete_contact(contact_id, current_user)
    return "", 204
