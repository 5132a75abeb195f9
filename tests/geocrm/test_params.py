"""The one family of request-value readers: typed values, or a 422 that names the field."""

from __future__ import annotations

from datetime import date

import pytest

from geocrm import params
from geocrm.errors import ValidationError

BAD = [
    (params.to_int, "ten", "limit", "not a whole number"),
    (params.to_int, True, "limit", "not a whole number"),
    (params.to_int, 2.5, "limit", "not a whole number"),
    (params.to_int, "", "limit", "is required"),
    (params.to_float, "north", "lat", "not a number"),
    (params.to_float, "nan", "lat", "not a number"),
    (params.to_float, "inf", "lat", "not a number"),
    (params.to_date, "15.5.2026", "start", "is not a date"),
    (params.to_date, None, "start", "is required"),
    (params.to_date, 20260515, "start", "is not a date"),
    (params.to_ids, ["1", "x"], "rep", "'x' is not an id"),
    (params.to_ids, [True], "rep", "is not an id"),
    (params.to_ids, ["0"], "rep", "is not an id"),
    (params.to_ids, "12", "rep", "must be a list of ids"),
    (params.to_bool, "maybe", "overdue_only", "is not true or false"),
    (params.to_bool, 1, "overdue_only", "is not true or false"),
]


@pytest.mark.parametrize(("reader", "value", "field", "words"), BAD)
def test_bad_values_name_the_field(reader, value, field, words):
    """Every reader refuses bad text with a ValidationError that names the field and why."""
    with pytest.raises(ValidationError) as err:
        reader(value, field)
    assert err.value.field == field and words in err.value.message
    assert err.value.message.startswith(f"{field}: ")


def test_good_values_and_defaults():
    """Blank takes the default; whitespace is trimmed; ids keep order and drop repeats."""
    assert params.to_int(" 12 ", "n") == 12 and params.to_int(7, "n") == 7
    assert params.to_int("", "n", default=None) is None
    assert params.to_int(None, "n", default=5) == 5
    assert params.to_float("0.5", "x") == 0.5 and params.to_float("", "x", default=None) is None
    assert params.to_date("2026-05-15", "d") == date(2026, 5, 15)
    assert params.to_date(date(2026, 1, 2), "d") == date(2026, 1, 2)
    assert params.to_date("  ", "d", default=date(2000, 1, 1)) == date(2000, 1, 1)
    assert params.to_ids(["3", "", "1", "3", 2], "rep") == (3, 1, 2)
    assert params.to_ids(None, "rep") == ()
    assert params.to_bool(True, "b") and not params.to_bool("off", "b")
    assert params.to_bool("on", "b") and not params.to_bool(None, "b")
    assert params.to_choice("hex", "units", ["hex", "square"]) == "hex"


@pytest.mark.parametrize(("value", "words"), [("0", "between 1 and 500"),
                                              ("501", "between 1 and 500")])
def test_ranges(value, words):
    """Out-of-range numbers say the range."""
    with pytest.raises(ValidationError, match=words):
        params.to_int(value, "limit", lo=1, hi=500)
    with pytest.raises(ValidationError, match="at least 1"):
        params.to_float("0.5", "cell_km", lo=1)


def test_the_pages_answer_with_the_field(client, auth, world):
    """A bad report date and a bad balance-wizard number are 422s naming their field."""
    auth.login("manager@example.com")
    r = client.get("/crm/reports/visits?start=yesterday")
    assert r.status_code == 422 and "start: &#39;yesterday&#39; is not a date" in r.get_data(
        as_text=True)
    r = client.post("/territories/balance", data={
        "area": "territories", "territory": [str(world.west.id)], "rep": [str(world.rep_west.id)],
        "units": "hex", "cell_km": "half", "target": "1.1"})
    assert r.status_code == 422 and "cell_km: not a number" in r.get_data(as_text=True)
    r = client.post("/territories/balance", data={
        "area": "territories", "territory": ["x"], "rep": [str(world.rep_west.id)],
        "units": "hex"})
    assert r.status_code == 422 and "territory: &#39;x&#39; is not an id" in r.get_data(
        as_text=True)


def test_strict_booleans_for_stored_json():
    """Stored parameters are JSON: text where a boolean belongs is an error, not a guess."""
    assert params.to_bool(False, "by_cadence", strict=True) is False
    with pytest.raises(ValidationError, match="by_cadence: 'yes' is not true or false"):
        params.to_bool("yes", "by_cadence", strict=True)


def test_text_money_datetime_and_enum_readers():
    """The CRM form readers: trimmed text, amounts with a comma, naive-UTC times, enum values."""
    from datetime import datetime
    from decimal import Decimal

    from geocrm.models import Stage

    assert params.to_text("  hi ", "notes") == "hi" and params.to_text(" ", "notes") is None
    with pytest.raises(ValidationError, match="notes: is longer than 3 characters"):
        params.to_text("long", "notes", max_len=3)
    assert params.to_money("1 234,5", "amount") == Decimal("1234.50")
    for bad, words in (("-1", "zero or more"), ("1e12", "too large"), ("lots", "not a number"),
                       ("NaN", "zero or more")):
        with pytest.raises(ValidationError, match=f"amount: .*{words}"):
            params.to_money(bad, "amount")
    assert params.to_datetime("2026-05-15", "due") == datetime(2026, 5, 15)
    assert params.to_datetime("2026-05-15T09:30+03:00", "due") == datetime(2026, 5, 15, 6, 30)
    assert params.to_datetime("2026-05-15T09:30", "due") == datetime(2026, 5, 15, 9, 30)
    with pytest.raises(ValidationError, match="due: not a date and time"):
        params.to_datetime("tomorrow", "due")
    assert params.to_enum("customer", "stage", Stage) is Stage.CUSTOMER
    assert params.to_enum("", "stage", Stage, Stage.LEAD) is Stage.LEAD
    with pytest.raises(ValidationError, match="stage: must be one of lead, prospect"):
        params.to_enum("open", "stage", Stage)
