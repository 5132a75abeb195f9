"""One table of account values through every door: the same verdict and the same message.

The web form, the API's PATCH, the phone's sync batch, the CSV import and the merge all
judge account fields with :mod:`geocrm.core.accounts`. Before it they disagreed: the API
and the sync took ``email="not-an-email"`` and a 100-character phone that the import
refused, the form cut long names silently, and the value field took ``NaN``.
"""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from wtforms.fields.core import UnboundField

from geocrm.accounts.forms import AccountForm
from geocrm.core.accounts import EDITABLE, clean_field, clean_texts
from geocrm.crm import duplicates
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.imports.hours import opening_hours_error
from geocrm.imports.results import Reject
from geocrm.imports.rows import clean_rows
from geocrm.imports.services import import_accounts
from geocrm.models import Account, AuditEntry, Stage, utcnow
from tests.factories import make_account

Verdict = tuple[str, str] | None  # None: accepted; else (field, reason)
PIN = ("lat", "lon")

# (fields, raw values as a person or a file gives them, expected verdict)
TABLE: list[tuple[tuple[str, ...], tuple[str, ...], Verdict]] = [
    (("email",), ("anna@example.com",), None),
    (("email",), ("not-an-email",), ("email", "is not an email address")),
    (("phone",), ("+358 9 123 4567",), None),
    (("phone",), ("5" * 100,), ("phone", "is longer than 40 characters")),
    (("name",), ("Kahvila Uusi",), None),
    (("name",), ("   ",), ("name", "is required")),
    (("name",), ("x" * 201,), ("name", "is longer than 200 characters")),
    (("city",), ("c" * 121,), ("city", "is longer than 120 characters")),
    (("postcode",), ("1" * 21,), ("postcode", "is longer than 20 characters")),
    (("website",), ("https://example.com/shop",), None),
    (("stage",), ("Customer",), None),
    (("stage",), ("hot",), ("stage", "unknown stage 'hot' (lead, prospect, customer, lost)")),
    (("visit_minutes",), ("45",), None),
    (("visit_minutes",), ("0",), ("visit_minutes", "must be between 1 and 600")),
    (("visit_minutes",), ("ten",), ("visit_minutes", "must be a whole number")),
    (("cadence_days",), ("731",), ("cadence_days", "must be between 1 and 730")),
    (("priority",), ("9",), ("priority", "must be between 1 and 5")),
    (("value",), ("1 250,50",), None),
    (("value",), ("abc",), ("value", "must be a number")),
    (("value",), ("NaN",), ("value", "must be a number")),
    (("value",), ("1e15",), ("value", "must be at most 999,999,999,999.99 in size")),
    (("opening_hours",), ("Mo-Fr 09:00-17:00",), None),
    (("opening_hours",), ("sometimes",), ("opening_hours", "<grammar>")),
    (PIN, ("60.17", "24.94"), None),
    (PIN, ("95", "200"), ("lat", "95.0 is outside -90..90")),
    (PIN, ("95", "24.9"), ("lat", "95.0 is out of range; latitude and longitude look swapped")),
    (PIN, ("sixty", "24.9"), ("lat", "not a number: 'sixty'")),
    (PIN, ("60.17", ""), ("lon", "is missing while the other coordinate is given")),
    (PIN, ("0", "0"), ("lat", "0,0 is not a real location (missing coordinates?)")),
]


def _expected(verdict: Verdict, values: dict[str, str]) -> Verdict:
    if verdict is not None and verdict[1] == "<grammar>":
        return verdict[0], str(opening_hours_error(values[verdict[0]]))
    return verdict


def _reason(detail: str, field: str) -> str:
    prefix = f"{field}: "
    assert detail.startswith(prefix), detail
    return detail[len(prefix):]


# -- the five doors -----------------------------------------------------------------------
_LABELS = {uf.args[0]: name for name, uf in vars(AccountForm).items()
           if isinstance(uf, UnboundField)}


def via_form(client: Any, account: Account, values: dict[str, str]) -> Verdict:
    """The edit page: every field posted as the browser would, the others as they are."""
    data = {k: "" if getattr(account, k) is None else str(getattr(account, k)) for k in EDITABLE}
    data["stage"] = account.stage.value
    data.update(values)
    r = client.post(f"/accounts/{account.id}/edit", data=data)
    if r.status_code == 302:
        return None
    assert r.status_code == 422, r.status_code
    errors = re.findall(r'<p class="field-error" role="alert">(.*?)</p>', r.get_data(as_text=True))
    assert len(errors) == 1, errors
    label, _, reason = html.unescape(errors[0]).partition(": ")
    return _LABELS[label], reason


def via_api(client: Any, account: Account, values: dict[str, str]) -> Verdict:
    """PATCH /api/v1/accounts/<id> with the values as JSON strings."""
    r = client.patch(f"/api/v1/accounts/{account.id}", json=values)
    if r.status_code == 200:
        return None
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    return body["field"], _reason(body["detail"], body["field"])


def via_sync(client: Any, account: Account, values: dict[str, str]) -> Verdict:
    """The phone's outbox: one offline account edit in a sync batch."""
    now = utcnow().isoformat()
    op = {"id": str(uuid.uuid4()), "op": "account_edit",
          "data": {"account_id": account.id, "seen_at": now, "edited_at": now,
                   "changes": values}}
    r = client.post("/api/v1/sync", json={"ops": [op]})
    assert r.status_code == 200, r.get_json()
    result = r.get_json()["results"][0]
    if result["ok"]:
        return None
    assert result["status"] == 422, result
    problem = result["problem"]
    return problem["field"], _reason(problem["detail"], problem["field"])


def via_import(values: dict[str, str]) -> Verdict:
    """A CSV file of one row (a name, and the fields under test)."""
    cells = {"name": "Door Test Oy", "external_id": "door-1", **values}
    header = ",".join(cells)
    row = ",".join(f'"{v}"' for v in cells.values())
    result = import_accounts(f"{header}\n{row}\n".encode(), filename="doors.csv",
                             mapping={k: k for k in cells})
    if result.status != "rejected":
        return None
    assert len(result.rejects) == 1, result.rejects
    return result.rejects[0].field, result.rejects[0].reason


def via_merge(values: dict[str, str]) -> Verdict:
    """What a survivor would take from the merged account (the merge's own check)."""
    try:
        duplicates.check_taken(values)
    except ValidationError as err:
        return err.field, err.reason
    return None


@pytest.mark.parametrize(("fields", "raw", "verdict"), TABLE,
                         ids=[f"{'/'.join(f)}={'/'.join(r)[:20]!r}" for f, r, _ in TABLE])
def test_every_door_gives_the_same_verdict_and_message(world, client, auth, fields, raw,
                                                       verdict):
    """Form, API PATCH, sync batch, CSV import and merge agree on each value, word for word."""
    values = dict(zip(fields, raw, strict=True))
    expected = _expected(verdict, values)
    auth.login("manager@example.com")
    account = world.west_accounts[0]
    verdicts = {
        "form": via_form(client, account, values),
        "api": via_api(client, account, values),
        "sync": via_sync(client, account, values),
        "import": via_import(values),
        "merge": via_merge(values),
    }
    assert verdicts == dict.fromkeys(verdicts, expected)


def test_a_refused_edit_writes_nothing(world, client, auth):
    """A bad email next to a good phone: 422 naming email, and the phone is not changed."""
    auth.login("manager@example.com")
    account = world.west_accounts[0]
    before = (account.phone, account.email, account.version)
    r = client.patch(f"/api/v1/accounts/{account.id}",
                     json={"phone": "+358 9 1", "email": "not-an-email"})
    assert r.status_code == 422 and r.get_json()["field"] == "email"
    db.session.expire_all()
    account = db.session.get(Account, account.id)
    assert (account.phone, account.email, account.version) == before


def test_a_merge_does_not_carry_a_value_no_door_accepts(world):
    """An old row with a bad email: picking it refuses the merge naming email; the survivor's
    good email or a good pick from the merged account merges, with the cleaned value."""
    w1 = world.west_accounts[0]
    old = make_account("Kahvila Aalto", 60.1601, 24.9101, territory_id=world.west.id,
                       email="not-an-email", stage=Stage.CUSTOMER)
    db.session.commit()
    old_id = old.id
    with pytest.raises(ValidationError) as err:
        duplicates.merge_accounts(world.manager, w1.id, old.id, {"email": "merged"})
    assert (err.value.field, err.value.reason) == ("email", "is not an email address")
    db.session.rollback()
    assert db.session.get(Account, old_id) is not None
    duplicates.merge_accounts(world.manager, w1.id, old_id,
                              {"email": "survivor", "stage": "merged"})
    db.session.commit()
    assert db.session.scalars(select(Account.id).where(Account.id == old_id)).all() == []
    assert db.session.scalars(select(Account.stage).where(Account.id == w1.id)).one() == (
        Stage.CUSTOMER)
    assert db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_id == w1.id, AuditEntry.action == "merge")).one() == "merge"


def test_a_text_column_is_cleaned_as_each_cell_would_be(app):
    """clean_texts (a file's whole id or address column at once) gives clean_field's verdict
    for every cell; a column with one cell too long is judged cell by cell, which names it."""
    cells = ["  E1 ", "", "   ", "서울 7", "E2\u3000"]
    assert clean_texts("external_id", cells) == [clean_field("external_id", c) for c in cells]
    assert clean_texts("name", cells) is None  # not a plain text field (required)
    assert clean_texts("postcode", ["1" * 21]) is None
    rejects: list[Reject] = []
    rows = clean_rows({"name": ["A", "B", "C"], "postcode": [" 00100 ", "1" * 21, ""]},
                      [2, 3, 4], rejects)
    assert [r and r["postcode"] for r in rows] == ["00100", None, None]
    assert [(r.row, r.field, r.reason) for r in rejects] == [
        (3, "postcode", "is longer than 20 characters")]
