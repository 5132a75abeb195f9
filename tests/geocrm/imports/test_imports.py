"""CSV import: rejects naming row and field, all-or-nothing, duplicates, snapshots, page, CLI."""

from __future__ import annotations

import io
import sqlite3
import threading

import pytest
from sqlalchemy import func, select, text

from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.imports import writing
from geocrm.imports.hours import opening_hours_error
from geocrm.imports.services import guess_mapping, import_accounts, read_table
from geocrm.models import Account, AssignmentHistory, ImportBatch, Tag
from tests.shared_data import shared_data

DATA = shared_data("geo")
HEADER = "External ID,Company,Address,Latitude,Longitude,Stage,Opening hours,Tags\n"
GOOD = HEADER + (
    "A1,Kahvila Sininen,Mannerheimintie 10,60.1700,24.9400,customer,Mo-Fr 08:00-16:00,horeca\n"
    "A2,Kirjakauppa Aalto,Pohjoisesplanadi 39,60.1680,24.9450,prospect,,retail;books\n"
    "A3,Itä Bakery,Itäkatu 3,60.1650,24.9800,lead,\"Mo,We 08:00-12:00,13:00-17:00\",\n"
)


def count() -> int:
    return db.session.scalar(select(func.count(Account.id))) or 0


def run(text: str | bytes, **kw):
    data = text.encode() if isinstance(text, str) else text
    return import_accounts(data, filename=kw.pop("filename", "t.csv"), **kw)


def test_good_file_imports_and_assigns_territories(app, world):
    """Rows become accounts with normalised keys, tags, stages and their territory."""
    before = count()
    result = run(GOOD)
    assert result.status == "committed", result.rejects
    assert (result.inserted, result.updated, result.unchanged) == (3, 0, 0)
    assert count() == before + 3
    a = db.session.scalars(select(Account).where(Account.external_id == "A2")).one()
    assert a.territory_id == world.west.id and a.tag_names == ["books", "retail"]
    assert a.stage.value == "prospect" and a.name_key == "kirjakauppa aalto"
    east = db.session.scalars(select(Account).where(Account.external_id == "A3")).one()
    assert east.territory_id == world.east.id
    batch = db.session.get(ImportBatch, result.batch_id)
    assert batch.counts["inserted"] == 3


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("B1,,Street 1,60.17,24.94,lead,,", "name", "required"),
        ("B1,Swapped,Street 1,24.94,60.17,lead,,", "lat", "swapped"),
        ("B1,Far,Street 1,95.0,200.0,lead,,", "lat", "outside"),
        ("B1,East,Street 1,60.17,190,lead,,", "lon", "outside"),
        ("B1,Half,Street 1,60.17,,lead,,", "lon", "missing"),
        ("B1,Zero,Street 1,0,0,lead,,", "lat", "0,0"),
        ("B1,Text,Street 1,sixty,24.9,lead,,", "lat", "not a number"),
        ("B1,Hours,Street 1,60.17,24.94,lead,sometimes,", "opening_hours", "cannot read"),
        ("B1,Hours,Street 1,60.17,24.94,lead,25:00-26:00,", "opening_hours", "24:00"),
        ("B1,Stage,Street 1,60.17,24.94,hot,,", "stage", "unknown stage"),
    ],
)
def test_bad_rows_are_rejected_by_row_and_field_and_nothing_is_written(app, world, row, field,
                                                                       words):
    """Any invalid row rejects the whole file; the report names the row, the field and why."""
    before = count()
    result = run(GOOD + row + "\n")
    assert result.status == "rejected"
    assert [(r.row, r.field) for r in result.rejects] == [(5, field)]
    assert words in result.rejects[0].reason
    assert count() == before
    assert db.session.scalar(select(func.count(ImportBatch.id))) == 0
    report = result.reject_report_csv().splitlines()
    assert report[0] == "row,field,reason,value" and report[1].startswith(f"5,{field},")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (HEADER.encode(), "no data rows"),
        (b"Name,Name\nx,y\n", "repeats"),
    ],
)
def test_bad_files_raise_clear_errors(app, content, words):
    """Empty files, header-only files and repeated headers are refused with a clear message."""
    with pytest.raises(ValidationError) as err:
        run(content)
    assert words in err.value.message


def test_mapping_needs_a_name_and_both_coordinates(app):
    """A mapping without a name column, or with only one coordinate, is refused."""
    with pytest.raises(ValidationError, match="name"):
        run(GOOD, mapping={"address": "Address"})
    with pytest.raises(ValidationError, match="both lat and lon"):
        run(GOOD, mapping={"name": "Company", "lat": "Latitude"})


def test_semicolons_bom_and_windows_1252(app, world):
    """Semicolon files with a BOM, and Windows-1252 files, are read (the latter with a note)."""
    text = "\ufeffName;Latitude;Longitude\nCafé Ääni;60,1700;24,9400\n"
    assert run(text.encode("utf-8")).inserted == 1
    result = run("Name;Latitude;Longitude\nKahvila Öljy;60.18;24.93\n".encode("cp1252"))
    assert result.inserted == 1 and "Windows-1252" in result.notes[0]
    assert db.session.scalars(select(Account.name).where(Account.name == "Kahvila Öljy")).one()


def test_duplicates_in_the_file_are_reported_never_dropped(app, world):
    """The same external id twice is one record (first row stands); rows with their own ids
    that look alike (same name within 50 m, same address + similar name) are all imported
    and listed for review; another business at the same address is noted too."""
    text = HEADER + (
        "C1,Alpha Oy,Street 1,60.1700,24.9400,,,\n"
        "C1,Alpha Again,Other 5,60.1800,24.9300,,,\n"  # same external id
        "C3,Alpha,Street 9,60.17030,24.94010,,,\n"  # 'alpha' within ~35 m
        "C4,Beta Shop,Kauppakatu 7,60.1750,24.9350,,,\n"
        "C5,Beta Shop Ltd,Kauppakatu 7,60.1760,24.9360,,,\n"  # same address, similar name
        "C6,Gamma,Kauppakatu 7,60.1770,24.9370,,,\n"  # same address, other business
    )
    before = count()
    # Mapped by hand: a guessed external-id column that repeats is not used (a person's is).
    result = run(text, mapping=guess_mapping(HEADER.strip().split(",")))
    assert result.inserted == 5
    assert count() == before + 5
    rules = {(d.row, d.rule, d.other, d.outcome) for d in result.duplicates}
    assert (3, "external_id", "row 2", "repeat") in rules
    assert (4, "name_within_50m", "row 2", "review") in rules
    assert (6, "address", "row 5", "review") in rules
    assert (7, "same_address_other_name", "row 5", "note") in rules
    assert db.session.scalar(select(Account.name).where(Account.external_id == "C1")) == "Alpha Oy"


def test_duplicates_of_existing_accounts_match_them(app, world):
    """A row naming an existing account within 50 m updates it instead of adding a second one."""
    existing = world.west_accounts[0]  # Kahvila Aalto at 60.16, 24.91
    before = count()
    result = run("Name,Latitude,Longitude,Phone\nKahvila Aalto,60.16020,24.91010,+358 9 123\n")
    assert result.inserted == 0 and result.updated == 1
    assert count() == before
    assert result.duplicates[0].rule == "name_within_50m"
    assert f"account {existing.id}" in result.duplicates[0].other
    db.session.refresh(existing)
    assert existing.phone == "+358 9 123" and existing.version == 2


def test_reimporting_the_same_file_changes_nothing(app, world):
    """The second import of a file finds every row unchanged: no new rows, no version bumps."""
    run(GOOD)
    versions = dict(db.session.execute(select(Account.id, Account.version)).all())
    again = run(GOOD)
    assert again.status == "unchanged" and again.seen_before
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert dict(db.session.execute(select(Account.id, Account.version)).all()) == versions


def test_snapshot_updates_adds_and_flags_missing(app, world):
    """A newer snapshot updates matched rows, adds new ones and flags (never deletes) the gone."""
    run(GOOD, source="erp", snapshot=True)
    newer = HEADER + (
        "A1,Kahvila Sininen,Mannerheimintie 12,60.1700,24.9400,customer,Mo-Fr 08:00-16:00,\n"
        "A4,New Place,Uusikatu 1,60.1690,24.9410,lead,,\n"
    )
    before = count()
    result = run(newer, source="erp", snapshot=True)
    assert (result.inserted, result.updated, result.flagged_missing) == (1, 1, 2)
    assert count() == before + 1
    flagged = set(db.session.scalars(
        select(Account.external_id).where(Account.missing_since.is_not(None))))
    assert flagged == {"A2", "A3"}
    assert world.west_accounts[0].missing_since is None  # other sources are untouched
    back = run(GOOD, source="erp", snapshot=True)
    assert back.unflagged == 2
    flagged = set(db.session.scalars(
        select(Account.external_id).where(Account.missing_since.is_not(None))))
    assert flagged == {"A4"}


def test_imports_start_the_assignment_history_and_a_moved_pin_continues_it(app, world):
    """A first import opens one history row per placed account (territory and its name, who,
    "import"; none for an account outside every territory); a re-import that moves A2's pin
    into East closes its West row and opens an East one; an unchanged re-import adds none."""
    far = GOOD + "A9,Far Away,Somewhere 1,61.0000,26.0000,lead,,\n"
    run(far, source="erp", user=world.manager)
    by_ext = dict(db.session.execute(select(Account.external_id, Account.id).where(
        Account.source == "erp")).all())

    def rows(ext: str) -> list[tuple]:
        return [(h.territory_id, h.territory_name, h.changed_by_id, h.reason, h.until is None)
                for h in db.session.scalars(select(AssignmentHistory).where(
                    AssignmentHistory.account_id == by_ext[ext]).order_by(AssignmentHistory.id))]

    assert rows("A1") == [(world.west.id, "West", world.manager.id, "import", True)]
    assert rows("A3") == [(world.east.id, "East", world.manager.id, "import", True)]
    assert rows("A9") == []
    moved = far.replace("60.1680,24.9450", "60.1680,24.9750")
    assert run(moved, source="erp", user=world.manager).updated == 1
    assert db.session.get(Account, by_ext["A2"]).territory_id == world.east.id
    assert rows("A2") == [(world.west.id, "West", world.manager.id, "import", False),
                          (world.east.id, "East", world.manager.id, "import: pin moved", True)]
    total = db.session.scalar(select(func.count(AssignmentHistory.id)))
    assert run(moved, source="erp", user=world.manager).unchanged == 4
    assert db.session.scalar(select(func.count(AssignmentHistory.id))) == total == 4


def test_opening_hours_checker():
    """Real-world forms pass; garbage and impossible times do not."""
    for ok in ["Mo-Fr 09:00-17:00; Sa 10:00-14:00", "24/7", "Mo,We 08:00-12:00,13:00-17:00",
               "off", "PH off", "Mo-Th 11:00-23:00; Fr 11:00-24:00", "Fr-Sa 10:00-03:00",
               "We-Sa 08:00-24:00, Su 09:00-22:00", "Jan-Mar Mo-Fr 10:00-16:00"]:
        assert opening_hours_error(ok) is None, ok
    for bad in ["sometimes", "25:00-26:00", "Mo-Fr 9:75-17:00", "Mo-Fr", "call first"]:
        assert opening_hours_error(bad) is not None, bad


def test_header_guessing():
    """Common English and Finnish header names are mapped without help."""
    assert guess_mapping(["Nimi", "Osoite", "Leveysaste", "Pituusaste"]) == {
        "name": "Nimi", "address": "Osoite", "lat": "Leveysaste", "lon": "Pituusaste"}
    headers, _ = read_table(GOOD.encode())
    assert guess_mapping(headers)["external_id"] == "External ID"


def test_cli_imports_and_writes_a_reject_report(runner, app, world, tmp_path):
    """The CLI imports a good file, and for a bad one writes the reject report and fails."""
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    r = runner.invoke(args=["import-accounts", str(good), "--source", "erp"])
    assert r.exit_code == 0, r.output
    assert "committed" in r.output and "inserted 3" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "B9,,x,60.1,24.9,,,\n")
    report = tmp_path / "rejects.csv"
    r = runner.invoke(args=["import-accounts", str(bad), "--reject-report", str(report)])
    assert r.exit_code != 0 and "rejected" in r.output
    assert "5,name,is required" in report.read_text()


def _upload(client, text: str, **form):
    data = {"file": (io.BytesIO(text.encode()), "accounts.csv"), "source": "erp", **form}
    return client.post("/imports/", data=data, content_type="multipart/form-data")


def test_upload_page_flow(client, auth, app, world):
    """Upload → mapping page with guessed columns → import → result page with counts."""
    auth.login("manager@example.com")
    r = _upload(client, GOOD)
    assert r.status_code == 302
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and b'<option selected value="Company">' in page.data
    mapping = {"name": "Company", "external_id": "External ID", "lat": "Latitude",
               "lon": "Longitude", "address": "Address", "stage": "Stage",
               "opening_hours": "Opening hours", "tags": "Tags"}
    done = client.post(r.headers["Location"], data=mapping)
    assert done.status_code == 200
    assert b"inserted: <strong>3</strong>" in done.data
    # The upload is gone once imported.
    assert client.get(r.headers["Location"]).status_code == 404


def test_upload_with_bad_rows_offers_the_reject_report(client, auth, app, world):
    """A rejected upload answers 422, lists the rows and serves the reject report as CSV."""
    auth.login("admin@example.com")
    r = _upload(client, GOOD + "B9,Swapped,x,24.9,60.1,,,\n")
    url = r.headers["Location"]
    done = client.post(url, data={"name": "Company", "lat": "Latitude", "lon": "Longitude"})
    assert done.status_code == 422 and b"swapped" in done.data
    token = url.split("/")[2]
    report = client.get(f"/imports/{token}/rejects.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "5,lat," in report.get_data(as_text=True)
    # Another importer cannot reach this upload by its token.
    auth.logout()
    auth.login("manager@example.com")
    assert client.get(url).status_code == 404
    assert client.get(f"/imports/{token}/rejects.csv").status_code == 404
    assert client.get("/imports/../../etc/passwd/map").status_code == 404


def test_empty_upload_is_refused_on_the_page(client, auth, world):
    """An empty file gets a clear message on the upload page, not a crash."""
    auth.login("manager@example.com")
    r = _upload(client, "")
    assert r.status_code == 422 and b"is empty" in r.data


def test_reps_cannot_import(client, auth, world):
    """Imports are for admins and managers only."""
    auth.login("west@example.com")
    assert client.get("/imports/").status_code == 403
    assert _upload(client, GOOD).status_code == 403


@pytest.fixture
def csrf_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_upload_needs_csrf_token(csrf_config, app, world):
    """With CSRF on, an upload without the token is refused."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(world.manager.id)
        sess["_fresh"] = True
    assert _upload(client, GOOD).status_code == 400


@pytest.mark.skipif(not (DATA / "pittsburgh_snap_stores").exists(), reason="shared data absent")
def test_real_snap_stores_import(app):
    """The 929 Pittsburgh SNAP stores import with guessed columns; a re-import changes nothing."""
    data = (DATA / "pittsburgh_snap_stores" / "SNAP_Store_Locations.csv").read_bytes()
    result = import_accounts(data, filename="snap.csv", source="snap")
    assert result.status == "committed", result.rejects[:3]
    assert result.rows == 929
    assert result.inserted + len(result.duplicates) >= 929 - 5
    assert count() == result.inserted
    again = import_accounts(data, filename="snap.csv", source="snap")
    assert again.status == "unchanged" and again.inserted == 0


@pytest.mark.skipif(not (DATA / "sf_food_trucks_neighborhoods").exists(),
                    reason="shared data absent")
def test_real_food_trucks_with_zero_coordinates_are_rejected(app):
    """The 33 permits at 0/0 are rejected by row and field; nothing is written."""
    data = (DATA / "sf_food_trucks_neighborhoods" / "Mobile_Food_Facility_Permit.csv").read_bytes()
    headers, _ = read_table(data)
    mapping = guess_mapping(headers)
    mapping.pop("stage", None)  # Status holds permit states, not sales stages
    result = import_accounts(data, filename="trucks.csv", source="sf", mapping=mapping)
    assert result.status == "rejected"
    zero = [r for r in result.rejects if "0,0" in r.reason]
    assert len(zero) == 33 and all(r.field == "lat" and r.row >= 2 for r in zero)
    assert count() == 0


def test_a_merged_away_record_comes_back_as_its_survivor(app, world):
    """After A2 is merged into A1, the next import of the source lands A2's row on A1: no
    resurrected account, and a snapshot does not flag the merged record as missing."""
    from geocrm.crm.duplicates import merge_accounts
    from geocrm.models import User

    run(GOOD, source="erp", snapshot=True)
    a1, a2 = (db.session.scalars(select(Account).where(Account.external_id == e)).one()
              for e in ("A1", "A2"))
    admin = db.session.scalars(select(User).where(User.email == "admin@example.com")).one()
    merge_accounts(admin, a1.id, a2.id, {})
    before = count()
    again = run(GOOD, source="erp", snapshot=True, filename="next.csv")
    assert again.status == "unchanged", again.rejects
    assert count() == before
    assert again.inserted == 0 and again.flagged_missing == 0
    assert [(d.row, d.rule) for d in again.duplicates] == [(3, "merged_into")]
    assert db.session.scalar(
        select(func.count(Account.id)).where(Account.missing_since.is_not(None))) == 0


def _indexes() -> set[tuple[str, str]]:
    """Every index of the database and its definition."""
    if db.engine.dialect.name == "sqlite":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        sql = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    return {(name, definition) for name, definition in db.session.execute(text(sql))}


def test_a_bulk_import_keeps_every_index_and_a_failed_one_restores_them(app, world,
                                                                         monkeypatch):
    """A large first import rebuilds the tables' indexes after its insert on SQLite (faster
    than updating them row by row): they come back exactly, they answer queries, and an
    import failing between the drop and the rebuild leaves them as they were."""
    monkeypatch.setattr(writing, "REBUILD_FROM", 20)  # the benchmark's 100,000 rows, small
    rows = "".join(f"R{i},Shop {i},Street {i},60.{1000 + i},24.{9000 + i},lead,,retail\n"
                   for i in range(60))
    before = _indexes()
    assert any("name_key" in sql for _, sql in before)
    result = run(HEADER + rows)
    assert result.status == "committed" and result.inserted == 60
    assert _indexes() == before
    assert db.session.scalar(select(func.count(Account.id)).where(
        Account.name_key == "shop 7")) == 1
    db.session.commit()

    real = writing.bulk_insert
    during: list[set[tuple[str, str]]] = []

    def failing(session, table, rows, **kw):
        if table.name == "accounts":
            real(session, table, rows, **kw)
            during.append(_indexes())
            raise RuntimeError("disk full")
        return real(session, table, rows, **kw)

    monkeypatch.setattr(writing, "bulk_insert", failing)
    more = "".join(f"S{i},Store {i},Road {i},60.{3000 + i},24.{7000 + i},lead,,\n"
                   for i in range(300))  # more than twice the accounts there are
    with pytest.raises(RuntimeError, match="disk full"):
        run(HEADER + more)
    db.session.rollback()
    if db.engine.dialect.name == "sqlite":  # dropped for the insert, as intended
        assert not any("name_key" in sql for _, sql in during[0])
    else:
        assert during[0] == before
    assert _indexes() == before
    assert count() == db.session.scalar(select(func.count(Account.id)))
    assert db.session.scalar(select(func.count(Account.id)).where(
        Account.name.like("Store%"))) == 0


def test_a_street_address_is_settled_once_whatever_its_postcode():
    """rows._settle_addresses shares one settling among the postcodes of a street address
    only where the postcode cannot change it: the same rows as one row at a time."""
    from geocrm.core.accounts import ADDRESS_FIELDS
    from geocrm.imports.rows import clean_rows

    lines = ["서울특별시 종로구 세종대로 175", "세종대로 175", "東京都千代田区丸の内1-9-1",
             "丸の内1-9-1", "大阪府大阪市北区梅田1-1", "Hämeenkatu 5", "Main Street 5", ""]
    postcodes = ["03154", "00100", "1000005", "100-0005", "１２３", "", "4", "123456789"]
    columns: dict[str, list[str]] = {f: [] for f in ("name", "address", "postcode", "city",
                                                     "region", "country")}
    for line in lines:
        for postcode in postcodes:
            for city, region, country in (("", "", ""), ("Seoul", "", ""), ("", "東京都", ""),
                                          ("", "", "JP")):
                for f, v in zip(columns, ("A", line, postcode, city, region, country),
                                strict=True):
                    columns[f].append(v)
    n = len(columns["name"])
    memo: dict = {}
    rows = clean_rows(columns, range(2, n + 2), [], addresses=memo)
    rows_again = clean_rows(columns, range(2, n + 2), [], addresses=memo)  # from the memo
    for i in range(n):
        one = clean_rows({k: [v[i]] for k, v in columns.items()}, [i + 2], [])[0]
        expected = {f: one[f] for f in ADDRESS_FIELDS}
        assert {f: rows[i][f] for f in ADDRESS_FIELDS} == expected
        assert {f: rows_again[i][f] for f in ADDRESS_FIELDS} == expected


def test_indexes_built_beside_python_work_raise_either_failure(app):
    """writing.beside: the statements run in a second thread while ``meanwhile`` runs in
    this one; both are done before it returns, and a failure on either side is raised here
    only once the thread is finished with the connection."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the index build beside Python work is SQLite's")
    db.session.add(Tag(name="태그"))
    db.session.flush()  # the transaction is open, as an import's is by its batch row
    raw = db.session.connection().connection.driver_connection
    ran: list[str] = []
    writing.beside(raw, ["CREATE INDEX ix_test_beside ON tags (name)"],
                   lambda: ran.append(threading.current_thread().name))
    assert ran == [threading.current_thread().name]
    assert {name for name, _ in _indexes()} >= {"ix_test_beside"}

    def boom() -> None:
        raise RuntimeError("meanwhile failed")

    with pytest.raises(RuntimeError, match="meanwhile failed"):
        writing.beside(raw, ["CREATE INDEX ix_test_after ON tags (id, name)"], boom)
    assert {name for name, _ in _indexes()} >= {"ix_test_after"}  # the thread had finished
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        writing.beside(raw, ["CREATE INDEX ix_test_bad ON no_such_table (x)"], lambda: None)
    db.session.rollback()  # the builds were part of the transaction
    assert not {name for name, _ in _indexes()} & {"ix_test_beside", "ix_test_after"}


def test_cleaned_columns_give_the_rows_and_any_rows_values():
    """clean_columns keeps the cleaned columns: the rows made from them, and the writer's
    values of any rows taken from them, are the same values; a key no column fills is
    listed as blank, never taken; numbers that do not follow one another take nothing."""
    from geocrm.imports.rows import clean_columns

    cols = {"name": ["Kahvila", "서울식당", "", "ラーメン 一蘭"],
            "lat": ["60.1", "", "60.3", "35.6"], "lon": ["24.9", "", "24.8", "139.7"],
            "city": ["Helsinki", "", "Espoo", ""], "tags": ["a;b", "", "", "c"]}
    rejects: list = []
    cleaned = clean_columns(cols, range(2, 6), rejects)
    rows = cleaned.rows()
    assert [r and r["name"] for r in rows] == ["Kahvila", "서울식당", None, "ラーメン 一蘭"]
    assert [r.row for r in rejects] == [4]
    assert "phone" in cleaned.blank and "name" not in cleaned.blank
    taken = cleaned.take([5, 2])
    assert taken is not None and not set(taken) & cleaned.blank
    assert taken["lat"] == (35.6, 60.1) and taken["city"] == (None, "Helsinki")
    for key, values in taken.items():
        assert list(values) == [rows[3][key], rows[0][key]], key
    assert all(rows[0][key] is None for key in cleaned.blank)
    assert cleaned.take([3]) == {key: [rows[1][key]] for key in taken}
    assert clean_columns(cols, [2, 3, 4, 5], []).take([2]) is None


def test_indexes_are_built_here_when_the_connection_refuses_other_threads(tmp_path):
    """A database opened with the driver's same-thread check (a URL may ask for it): the
    thread cannot use the connection, so the statements run in this thread after
    ``meanwhile``, once each."""
    conn = sqlite3.connect(tmp_path / "strict.sqlite")  # check_same_thread=True
    conn.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    ran: list[str] = []
    writing.beside(conn, ["CREATE INDEX ix_t_a ON t (a)", "CREATE INDEX ix_t_b ON t (b)"],
                   lambda: ran.append("meanwhile"))
    assert ran == ["meanwhile"]
    assert {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")} == {"ix_t_a", "ix_t_b"}
    conn.close()
