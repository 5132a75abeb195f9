"""A large upload is streamed to disk and its pages read only its head (issue 18): the
mapping page and its preview cost the same whatever the file's size, and say the preview is
of the first rows; the import itself reads every row."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from geocrm.extensions import db
from geocrm.imports import services
from geocrm.models import Account
from geocrm.uploads import ACCOUNT_IMPORTS

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])
ROWS = 60
CSV = "External ID,Company,Latitude,Longitude\n" + "".join(
    f"L{i:03d},Kahvila {i},60.{170 + i:03d},24.9{i:02d}\n" for i in range(ROWS))


def test_the_store_streams_to_disk_and_reads_a_head_of_whole_lines(app):
    data = CSV.encode()
    token = ACCOUNT_IMPORTS.save_stream(io.BytesIO(data), {"user_id": 1}, suffix=".csv")
    head, whole, meta = ACCOUNT_IMPORTS.read_head(token, 1, 100)
    assert not whole and head.endswith(b"\n") and len(head) <= 100 and data.startswith(head)
    assert ACCOUNT_IMPORTS.read_head(token, 1, len(data))[:2] == (data, True)
    assert ACCOUNT_IMPORTS.read(token, 1)[0] == data


def test_a_large_file_is_previewed_from_its_head_and_imported_whole(client, auth, world,
                                                                    monkeypatch):
    """With a 400-byte head, the page counts all 60 rows, previews the first ones (and says
    so), and the import adds all 60."""
    monkeypatch.setattr(services, "HEAD_BYTES", 400)
    auth.login("manager@example.com")
    r = client.post("/imports/", data={"file": (io.BytesIO(CSV.encode()), "big.csv"),
                                       "source": "erp"}, content_type="multipart/form-data")
    assert r.status_code == 302
    page = client.get(r.location).get_data(as_text=True)
    assert f"{ROWS} data rows" in page and 'id="partial-preview"' in page
    shown = int(page.split("rows to add: <strong>")[1].split("<")[0])
    assert 5 < shown < ROWS
    mapping = {"name": "Company", "external_id": "External ID", "lat": "Latitude",
               "lon": "Longitude"}
    done = client.post(r.location, data=mapping)
    assert done.status_code == 200 and f"inserted: <strong>{ROWS}</strong>" in done.get_data(
        as_text=True)
    assert db.session.scalar(select(func.count(Account.id)).where(
        Account.external_id.like("L%"))) == ROWS


def test_a_large_workbook_is_previewed_from_its_first_rows_and_imported_whole(
        client, auth, world, monkeypatch):
    """An .xlsx cannot be cut by bytes: with a 7-row head the page counts all 60 rows (the
    sheet's dimension), its preview adds the first 7 (streamed from the file), and the
    import adds all 60."""
    from openpyxl import Workbook

    monkeypatch.setattr(services, "HEAD_ROWS", 7)
    book = Workbook()
    sheet = book.active
    for line in CSV.splitlines():
        sheet.append(line.replace("Kahvila", "카페").split(","))
    out = io.BytesIO()
    book.save(out)
    auth.login("manager@example.com")
    r = client.post("/imports/", data={"file": (io.BytesIO(out.getvalue()), "big.xlsx"),
                                       "source": "erp"}, content_type="multipart/form-data")
    assert r.status_code == 302
    page = client.get(r.location).get_data(as_text=True)
    assert f"{ROWS} data rows" in page and 'id="partial-preview"' in page
    assert "카페 0" in page
    assert int(page.split("rows to add: <strong>")[1].split("<")[0]) == 7
    mapping = {"name": "Company", "external_id": "External ID", "lat": "Latitude",
               "lon": "Longitude"}
    done = client.post(r.location, data=mapping)
    assert done.status_code == 200 and f"inserted: <strong>{ROWS}</strong>" in done.get_data(
        as_text=True)
