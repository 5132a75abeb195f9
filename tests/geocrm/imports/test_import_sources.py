"""Import sources: encodings (CP949, Shift_JIS, UTF-16 …), .xlsx, grid x/y, checked guesses."""

from __future__ import annotations

import io
import re

import pytest
from pyproj import Transformer
from sqlalchemy import func, select

from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.imports import sources
from geocrm.imports.guessing import check_guess
from geocrm.imports.services import guess_mapping, import_accounts
from geocrm.imports.sources import decode, detect_encoding, read_source
from geocrm.models import Account
from tests.shared_data import shared_data

KRJP = shared_data("kr-jp")
SEOUL = KRJP / "seoul_hospitals" / "seoul_hospitals_localdata.csv"
SABAE = KRJP / "sabae_fire_hydrants" / "sabae_fire_hydrants.csv"
TOKYO = KRJP / "tokyo_postal_codes" / "13TOKYO.CSV"

KOREAN = (
    "관리번호,사업장명,주소,위도,경도\n"
    "K-1,김밥천국,서울특별시 중구 세종대로 110,37.5665,126.9780\n"
    "K-2,서울식당,서울특별시 종로구 종로 1,37.5700,126.9820\n"
    "K-3,(주)한빛상사,서울특별시 강남구 테헤란로 152,37.5000,127.0365\n"
)
KOREAN_MAP = {"external_id": "관리번호", "name": "사업장명", "address": "주소", "lat": "위도",
              "lon": "경도"}
JAPANESE = (
    "番号,店名,住所,緯度,経度\n"
    "J-1,ラーメン 一蘭,東京都渋谷区神南1丁目22-7,35.6617,139.7005\n"
    "J-2,株式会社 東京商事,東京都千代田区丸の内1丁目,35.6812,139.7671\n"
    "J-3,ｲｲﾀﾞﾊﾞｼ 食堂,東京都千代田区飯田橋3丁目,35.7020,139.7450\n"
)
JAPANESE_MAP = {"external_id": "番号", "name": "店名", "address": "住所", "lat": "緯度",
                "lon": "経度"}


def names() -> set[str]:
    return set(db.session.scalars(select(Account.name)))


def count() -> int:
    return db.session.scalar(select(func.count(Account.id))) or 0


# -- detection (no database) ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        (KOREAN, "cp949", "cp949"),
        (KOREAN, "euc-kr", "cp949"),
        (JAPANESE.replace("ｲｲﾀﾞﾊﾞｼ", "飯田橋"), "shift_jis", "cp932"),
        (JAPANESE, "cp932", "cp932"),
        (JAPANESE, "euc-jp", "euc-jp"),
        (KOREAN, "utf-8", "utf-8"),
        (KOREAN, "utf-8-sig", "utf-8-sig"),
        (JAPANESE, "utf-16", "utf-16"),
        (KOREAN, "utf-16-le", "utf-16-le"),
        ("Name;City\nKahvila Öljy;Helsinki\nÅbo Ångström;Turku\n", "cp1252", "cp1252"),
        ("Name,City\nMüller Bäckerei,Köln\nCafé Straße,München\n", "cp1252", "cp1252"),
    ],
)
def test_detects_the_encoding_and_reads_the_names_intact(text, codec, expected):
    """CP949/EUC-KR, Shift_JIS/CP932, EUC-JP, UTF-8 ± BOM, UTF-16 ± BOM, Windows-1252."""
    data = text.encode(codec)
    detected = detect_encoding(data)
    assert detected.encoding == expected
    table = read_source(data, "f.csv")
    assert table.detected is not None and table.detected.encoding == expected
    sep = ";" if ";" in text.splitlines()[0] else ","
    assert table.rows[0] == text.splitlines()[1].split(sep)


def test_one_word_files_and_half_width_katakana():
    """A tiny CP949 file is Korean; a file of only half-width katakana can be read as chosen."""
    assert read_source("이름\n김밥천국\n".encode("cp949")).rows == [["김밥천국"]]
    data = "name\nｲｲﾀﾞﾊﾞｼ\n".encode("cp932")
    assert read_source(data, encoding="cp932").rows == [["ｲｲﾀﾞﾊﾞｼ"]]


# One-row files the detector alone got wrong: Shift_JIS kanji read as Korean syllables
# nobody writes (CP949), as Windows-1252 punctuation, or as UTF-16 without NULs.
ONE_ROW_SHIFT_JIS = [
    "店名\n株式会社丸亀製麺\n",
    "name\n田中丸亀製麺\n",
    "Name,City\n吉野家本店,Tokyo\n",
    "external_id,name,lat,lon\nJ1,本店喫茶,35.66,139.70\n",
    "Company,Address\n山田,ヤマダ電機喫茶 1-2\n",
    "name\nｺｰﾋｰ整骨院\n",
    "name\nﾗｰﾒﾝ青山\n",
]
ONE_ROW_CP949 = [
    "상호\n서울식당\n",
    "external_id,name,lat,lon\nK1,김밥천국,37.56,126.97\n",
    "name,address\n한솔약국,세종로 1\n",
    "Company\n세븐일레븐 강남점\n",
]


@pytest.mark.parametrize(("text", "codec", "expected"), [
    *((t, "shift_jis", "cp932") for t in ONE_ROW_SHIFT_JIS),
    *((t, "cp949", "cp949") for t in ONE_ROW_CP949),
])
def test_one_row_shift_jis_and_cp949_files_are_detected(text, codec, expected):
    """A one-row file gives the detector little: the reading whose characters are usual
    for its language wins, and the names come out as written."""
    data = text.encode(codec)
    assert detect_encoding(data).encoding == expected
    table = read_source(data, "one.csv")
    assert table.detected is not None and table.detected.encoding == expected
    assert table.rows == [text.splitlines()[1].split(",")]


def test_plausible_other_readings_are_named_and_western_files_stay_western():
    """'치킨' in CP949 happens to be valid UTF-8 ('ġŲ'): UTF-8 stands, CP949 is named as
    the other reading. Western files (UTF-8 or Windows-1252) get no CJK alternative."""
    chicken = "name\n치킨\n".encode("cp949")
    detected = detect_encoding(chicken)
    assert detected.encoding == "utf-8" and detected.alternatives == ["cp949"]
    assert read_source(chicken, encoding="cp949").rows == [["치킨"]]
    for text in ("Name,City\nMüller Bäckerei,Köln\n", "Name\nCafé Ølhus\n",
                 "Name\nKašpar a syn\n"):
        assert detect_encoding(text.encode("utf-8")) == sources.Detected("utf-8", "valid UTF-8")
    for text in ("Name\nPöllö Kahvila\n", "Name;City\nÅbo Ångström;Turku\n",
                 "Name\nCafé Ølhus\n"):
        detected = detect_encoding(text.encode("cp1252"))
        assert detected.encoding == "cp1252" and not {"cp949", "cp932"} & set(
            detected.alternatives)


def test_a_wrong_encoding_is_an_error_naming_the_line_never_mojibake():
    """Decoding is strict: bytes that are not in the chosen encoding name their line."""
    data = KOREAN.encode("cp949")
    with pytest.raises(ValidationError) as err:
        read_source(data, encoding="utf-8")
    assert err.value.field == "encoding" and "line 1" in err.value.reason
    with pytest.raises(ValidationError, match="not one we read"):
        decode(data, "rot13")


def test_old_xls_is_refused_with_advice():
    """A binary .xls is refused with a clear message, not read as text."""
    with pytest.raises(ValidationError, match=r"\.xlsx or CSV"):
        read_source(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls")


def _xlsx(rows: list[list[object]], *, extra_sheet: bool = False) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "가게"
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        book.create_sheet("notes").append(["just notes"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_rows_are_text_with_ids_kept_whole():
    """Excel numbers come back as the text a person typed (12345, not 12345.0)."""
    data = _xlsx([["ID", "Name", "Lat", "Lon", None], [12345, "김밥천국", 37.5665, 126.978, None],
                  [None, None, None, None, None], [12346, "ラーメン 一蘭", 35.6617, 139.7005]],
                 extra_sheet=True)
    table = read_source(data, "shops.xlsx")
    assert table.format == "xlsx" and table.sheet == "가게"
    assert table.headers == ["ID", "Name", "Lat", "Lon"]
    assert table.rows == [["12345", "김밥천국", "37.5665", "126.978"],
                          ["12346", "ラーメン 一蘭", "35.6617", "139.7005"]]
    assert "2 sheets" in table.notes[0]


def test_a_workbook_preview_reads_its_head_from_disk(tmp_path):
    """A preview keeps only the first rows of a workbook, read from its file, and still
    knows how many rows the sheet has (from its dimension, else counted without keeping)."""
    from openpyxl import Workbook

    from geocrm.imports import sources

    rows = [["Name", "Lat"], *([f"가게 {i}", 60 + i / 1000] for i in range(30))]
    path = tmp_path / "big.xlsx"
    path.write_bytes(_xlsx(rows))
    assert sources.is_xlsx_file(path)
    head = sources.read_xlsx(path, None, 10)
    assert [r[0] for r in head.rows] == [f"가게 {i}" for i in range(10)]
    assert head.total == 30
    assert sources.read_xlsx(path).rows[-1][0] == "가게 29"
    whole = sources.read_xlsx(path, None, 30)
    assert len(whole.rows) == whole.total == 30
    book = Workbook(write_only=True)  # writes no <dimension>: the rows are counted
    sheet = book.create_sheet("店舗")
    for row in rows:
        sheet.append(row)
    book.save(tmp_path / "streamed.xlsx")
    counted = sources.read_xlsx(tmp_path / "streamed.xlsx", None, 10)
    assert len(counted.rows) == 10 and counted.total == 30


def test_grid_rows_that_are_not_numbers_or_half_given_are_rejected_by_row_and_field():
    """x/y cells: text, one of the pair missing, or beyond the grid's area name row and field."""
    from geocrm.imports.sources import project_grid

    headers = ["name", "X", "Y"]
    rows = [["ok", "203732.3", "443970.1"], ["text", "abc", "443970.1"],
            ["half", "", "443970.1"], ["blank", "", ""], ["far", "9e9", "9e9"]]
    rejects: list[tuple] = []
    out_headers, out_rows, mapping = project_grid(
        headers, rows, {"name": "name", "x": "X", "y": "Y"}, "5174",
        lambda *r: rejects.append(r))
    assert mapping == {"name": "name", "lat": out_headers[-2], "lon": out_headers[-1]}
    assert [(r[0], r[1]) for r in rejects] == [(3, "x"), (4, "x"), (6, "x")]
    assert "not a number" in rejects[0][2] and "missing" in rejects[1][2]
    assert "outside the area" in rejects[2][2]
    assert out_rows[0][-2:] != ["", ""] and out_rows[3][-2:] == ["", ""]
    with pytest.raises(ValidationError, match="both x and y"):
        project_grid(headers, rows, {"name": "name", "x": "X"}, "5174", lambda *r: None)
    with pytest.raises(ValidationError, match="not both"):
        project_grid(headers + ["lat", "lon"], rows, {"x": "X", "y": "Y", "lat": "lat",
                                                      "lon": "lon"}, "5174", lambda *r: None)


# -- importing (both engines) ---------------------------------------------------------------
@pytest.mark.parametrize(("text", "codec", "mapping"), [
    (KOREAN, "cp949", KOREAN_MAP), (KOREAN, "euc-kr", KOREAN_MAP),
    (JAPANESE.replace("ｲｲﾀﾞﾊﾞｼ", "飯田橋"), "shift_jis", JAPANESE_MAP),
    (JAPANESE, "cp932", JAPANESE_MAP), (JAPANESE, "utf-16", JAPANESE_MAP),
])
def test_korean_and_japanese_files_import_with_names_intact(app, world, text, codec, mapping):
    """CSV saved by Korean or Japanese Excel imports the names as written (was mojibake)."""
    result = import_accounts(text.encode(codec), filename="f.csv", mapping=mapping)
    assert result.status == "committed", (result.rejects, result.notes)
    expected = {line.split(",")[1] for line in text.splitlines()[1:]}
    assert expected <= names()
    assert result.inserted == 3


@pytest.mark.parametrize(("text", "codec"), [
    ("番号,店名\nJ-1,株式会社丸亀製麺\n", "shift_jis"), ("번호,상호\nK-1,서울식당\n", "cp949")])
def test_one_row_files_import_without_choosing_the_encoding(app, world, text, codec):
    """One-row Shift_JIS and CP949 files import their name as written, nothing chosen."""
    result = import_accounts(text.encode(codec), filename="one.csv",
                             mapping={"external_id": text.split(",")[0],
                                      "name": text.splitlines()[0].split(",")[1]})
    assert result.status == "committed", (result.rejects, result.notes)
    assert result.inserted == 1 and text.splitlines()[1].split(",")[1] in names()


def test_xlsx_imports(app, world, tmp_path):
    """An .xlsx workbook imports like a CSV file, with CJK names and numeric ids."""
    data = _xlsx([["Store ID", "Name", "Latitude", "Longitude"],
                  [101, "김밥천국", 37.5665, 126.978], [102, "ラーメン 一蘭", 35.6617, 139.7005]])
    result = import_accounts(data, filename="shops.xlsx")
    assert result.status == "committed", result.rejects
    got = dict(db.session.execute(select(Account.external_id, Account.name)).all())
    assert got["101"] == "김밥천국" and got["102"] == "ラーメン 一蘭"


def _grid_file() -> tuple[str, list[tuple[float, float]]]:
    """Three Seoul places as x/y metres in EPSG:5174 (computed with pyproj from lon/lat)."""
    to_grid = Transformer.from_crs("EPSG:4326", "EPSG:5174", always_xy=True)
    places = [("서울시청", 37.5663, 126.9779), ("김밥천국", 37.5700, 126.9820),
              ("서울식당", 37.5000, 127.0365)]
    lines = ["관리번호,사업장명,좌표정보(X),좌표정보(Y)"]
    for i, (name, lat, lon) in enumerate(places):
        x, y = to_grid.transform(lon, lat)
        lines.append(f"G-{i},{name},{x:.3f},{y:.3f}")
    return "\n".join(lines) + "\n", [(lat, lon) for _, lat, lon in places]


def test_xy_in_a_national_grid_are_converted_from_the_named_crs(app, world):
    """x/y metres with EPSG:5174 land where they are (within a metre)."""
    text, truth = _grid_file()
    mapping = {"external_id": "관리번호", "name": "사업장명", "x": "좌표정보(X)",
               "y": "좌표정보(Y)"}
    result = import_accounts(text.encode("cp949"), filename="g.csv", mapping=mapping,
                             crs="EPSG:5174")
    assert result.status == "committed", result.rejects
    got = {a.external_id: (a.lat, a.lon) for a in db.session.scalars(select(Account).where(
        Account.external_id.like("G-%")))}
    for i, (lat, lon) in enumerate(truth):
        assert got[f"G-{i}"] == pytest.approx((lat, lon), abs=1e-5)


def test_xy_without_a_crs_is_refused_naming_the_field(app, world):
    """The CRS is never guessed: x/y mapped without one is an error naming crs and the columns."""
    text, _ = _grid_file()
    mapping = {"name": "사업장명", "x": "좌표정보(X)", "y": "좌표정보(Y)"}
    before = count()
    with pytest.raises(ValidationError) as err:
        import_accounts(text.encode("cp949"), filename="g.csv", mapping=mapping)
    assert err.value.field == "crs" and "좌표정보(X)" in err.value.reason
    with pytest.raises(ValidationError, match="not a known coordinate system"):
        import_accounts(text.encode("cp949"), filename="g.csv", mapping=mapping, crs="EPSG:0")
    assert count() == before


def test_xy_in_the_wrong_crs_are_rejected_by_row(app, world):
    """Grid metres declared as degrees (EPSG:4326) fall outside its area: rejected by row."""
    text, _ = _grid_file()
    mapping = {"name": "사업장명", "x": "좌표정보(X)", "y": "좌표정보(Y)"}
    result = import_accounts(text.encode("cp949"), filename="g.csv", mapping=mapping,
                             crs="4326")
    assert result.status == "rejected"
    assert [(r.row, r.field) for r in result.rejects][:1] == [(2, "x")]


def test_guessed_x_y_metres_become_x_y_and_ask_for_the_crs(app, world):
    """Headers 'X'/'Y' holding metres are not degrees (all rows rejected): x/y, CRS asked."""
    text, _ = _grid_file()
    headers = text.splitlines()[0].split(",")
    assert guess_mapping(headers)["lon"] == "좌표정보(X)"  # the header-only guess
    guess = check_guess(guess_mapping(headers), headers,
                        [r.split(",") for r in text.splitlines()[1:]])
    assert guess.mapping["x"] == "좌표정보(X)" and "lat" not in guess.mapping
    assert "not degrees" in guess.reasons["x"]


def test_a_status_column_is_not_guessed_as_the_stage(app, world):
    """A STATUS column of 'open'/'closed' no longer rejects the whole file as unknown stages."""
    text = ("Name,STATUS,Latitude,Longitude\nKahvila Uusi,open,60.171,24.931\n"
            "Baari Vanha,closed,60.172,24.935\nPub Kolmas,open,60.173,24.938\n")
    result = import_accounts(text.encode(), filename="s.csv")
    assert result.status == "committed", result.rejects
    assert "stage" not in result.mapping
    assert any("'open'" in n and "not stages" in n for n in result.notes)
    stages = set(db.session.scalars(select(Account.stage).where(
        Account.name == "Pub Kolmas")))
    assert {s.value for s in stages} == {"lead"}


def test_a_repeating_id_column_is_not_guessed_as_the_external_id(app, world):
    """An ID column with repeats would fold distinct records together: the guess is dropped."""
    rows = [f"{i % 3},Shop number {i},{60.151 + i * 0.001:.4f},{24.905 + i * 0.001:.4f}"
            for i in range(8)]
    text = "ID,Name,Latitude,Longitude\n" + "\n".join(rows) + "\n"
    before = count()
    result = import_accounts(text.encode(), filename="ids.csv")
    assert "external_id" not in result.mapping
    assert any("'ID' was not used as the external id" in n for n in result.notes)
    assert result.inserted == 8 and count() == before + 8


def test_guess_checks_name_the_rows_and_read_decimal_commas(app):
    """The checks read whole columns in bulk, and a failing one still names its rows: the
    first repeat of an id, the first row of each odd stage, in file order (blanks and short
    rows counted as rows); coordinates with a decimal comma are read as numbers."""
    headers = ["ID", "Name", "Stage", "Latitude", "Longitude"]
    rows = [["A1", "One", "open", "60,171", "24,931"],
            ["", "Two", "", "", ""],
            ["A2", "Three", "lead", "60,172", "24,932"],
            ["A1", "Four", "closed", "60,173", "24,933"],
            ["A3"],
            ["A2", "Six", "open", "60,174", "24,934"]]
    guess = check_guess(guess_mapping(headers), headers, rows)
    assert "external_id" not in guess.mapping and "stage" not in guess.mapping
    assert "2 of its 5 values repeat (e.g. 'A1' in rows 2 and 5)" in guess.reasons["external_id"]
    assert "'open' (row 2), 'closed' (row 5)" in guess.reasons["stage"]
    assert (guess.mapping["lat"], guess.mapping["lon"]) == ("Latitude", "Longitude")
    metres = [[f"{200_000 + i},{500_000 + i}".split(",")[0], f"{500_000 + i}"]
              for i in range(3)]
    moved = check_guess({"lon": "X", "lat": "Y"}, ["X", "Y"], metres)
    assert moved.mapping == {"x": "X", "y": "Y"} and "200000" in moved.reasons["x"]


# -- the upload pages (both engines) ---------------------------------------------------------
def _upload(client, data: bytes, filename: str, **form):
    payload = {"file": (io.BytesIO(data), filename), "source": "kr", **form}
    return client.post("/imports/", data=payload, content_type="multipart/form-data")


def test_upload_shows_the_detected_encoding_sample_rows_and_consequences(client, auth, world):
    """CP949 upload → 'Korean (CP949 / EUC-KR)', Hangul sample rows, rows to add; then import."""
    auth.login("manager@example.com")
    r = _upload(client, KOREAN.encode("cp949"), "가게.csv")
    assert r.status_code == 302, r.data
    url = r.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Korean (CP949 / EUC-KR)" in page and "김밥천국" in page
    assert re.search(r"rows to add: <strong>3</strong>", page)
    before = count()
    assert count() == before  # the preview wrote nothing
    done = client.post(url, data={**KOREAN_MAP, "encoding": "cp949", "submit": "1"})
    assert done.status_code == 200, done.data
    assert {"김밥천국", "서울식당", "(주)한빛상사"} <= names()


def test_an_uncertain_encoding_offers_the_other_readings(client, auth, world):
    """A short Korean file is valid UTF-8 too: read as UTF-8, the preview offers CP949 as
    one click (in the reader's language), and that link reads the Hangul."""
    auth.login("manager@example.com")
    url = _upload(client, "name\n치킨\n".encode("cp949"), "chicken.csv").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert 'id="encoding-alternatives"' in page and "치킨" not in page
    link = re.search(r'href="([^"]+)" data-encoding="cp949">Korean \(CP949', page)
    assert link is not None, page
    assert "치킨" in client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    korean = client.get(url, headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert "다음 인코딩으로도 읽힙니다" in korean

def test_shift_jis_upload_and_an_encoding_override(client, auth, world):
    """Shift_JIS is detected; a file the detector gets wrong is read again as the user chooses."""
    auth.login("admin@example.com")
    text = JAPANESE.replace("ｲｲﾀﾞﾊﾞｼ", "飯田橋")
    url = _upload(client, text.encode("shift_jis"), "店.csv").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Japanese (Shift_JIS / CP932)" in page and "ラーメン 一蘭" in page
    # Only half-width katakana: too little to tell; read as the user says.
    kana = "番号,店名\nH-1,ｲｲﾀﾞﾊﾞｼ\nH-2,ｼﾝｼﾞｭｸ\n".encode("cp932")
    url = _upload(client, kana, "kana.csv").headers["Location"]
    page = client.get(url + "?encoding=cp932").get_data(as_text=True)
    assert "ｲｲﾀﾞﾊﾞｼ" in page and 'value="cp932" selected' in page
    bad = client.get(url + "?encoding=utf-8")
    assert bad.status_code == 422 and "not UTF-8" in bad.get_data(as_text=True)
    done = client.post(url, data={"external_id": "番号", "name": "店名", "encoding": "cp932"})
    assert done.status_code == 200, done.data
    assert {"ｲｲﾀﾞﾊﾞｼ", "ｼﾝｼﾞｭｸ"} <= names()


def test_upload_page_can_choose_the_encoding(client, auth, world):
    """The encoding chosen on the upload page is the one the mapping page reads with."""
    auth.login("manager@example.com")
    kana = "名前\nｲｲﾀﾞﾊﾞｼ\n".encode("cp932")
    url = _upload(client, kana, "kana.csv", encoding="cp932").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "ｲｲﾀﾞﾊﾞｼ" in page and "chosen by you" in page


def test_xlsx_upload_through_the_page(client, auth, world):
    """An .xlsx upload is read as a workbook and imported."""
    auth.login("manager@example.com")
    data = _xlsx([["Name", "Latitude", "Longitude"], ["김밥천국", 37.5665, 126.978]])
    url = _upload(client, data, "shops.xlsx").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Excel workbook" in page and "김밥천국" in page
    done = client.post(url, data={"name": "Name", "lat": "Latitude", "lon": "Longitude"})
    assert done.status_code == 200 and "김밥천국" in names()


def test_preview_states_the_consequences_of_a_snapshot_before_writing(client, auth, world):
    """add / update / flag as gone / unchanged are shown first; an import of another mapping
    than the one previewed is previewed again instead of written."""
    auth.login("manager@example.com")
    first = "ID,Name,Latitude,Longitude\nS1,Alpha,60.151,24.905\nS2,Beta,60.155,24.91\n" \
            "S3,Gamma,60.16,24.92\n"
    url = _upload(client, first.encode(), "one.csv", snapshot="y").headers["Location"]
    assert client.post(url, data={"external_id": "ID", "name": "Name", "lat": "Latitude",
                                  "lon": "Longitude"}).status_code == 200
    second = "ID,Name,Latitude,Longitude\nS1,Alpha,60.151,24.905\nS2,Beta Two,60.155,24.91\n" \
             "S4,Delta,60.165,24.93\n"
    url = _upload(client, second.encode(), "two.csv", snapshot="y").headers["Location"]
    before = count()
    page = client.get(url).get_data(as_text=True)
    for what, n in (("rows to add", 1), ("to update", 1), ("unchanged", 1),
                    ("to flag as gone", 1)):
        assert f"{what}: <strong>{n}</strong>" in page, what
    signature = re.search(r'name="previewed" type="hidden" value="([0-9a-f]+)"', page).group(1)
    # Another mapping than the one previewed: shown, not written.
    again = client.post(url, data={"external_id": "ID", "name": "Name", "lat": "", "lon": "",
                                   "previewed": signature, "submit": "1"})
    assert again.status_code == 200 and "What importing will do" in again.get_data(as_text=True)
    assert count() == before
    mapping = {"external_id": "ID", "name": "Name", "lat": "Latitude", "lon": "Longitude"}
    done = client.post(url, data={**mapping, "previewed": signature, "submit": "1"})
    assert "inserted: <strong>1</strong>" in done.get_data(as_text=True)
    assert count() == before + 1


# -- real registers (shared data) -----------------------------------------------------------
@pytest.mark.skipif(not SEOUL.exists(), reason="shared data absent")
def test_real_seoul_register_in_cp949_and_epsg_5174(app):
    """895 Seoul hospitals, CP949, X/Y in EPSG:5174: names intact, points inside Seoul."""
    data = SEOUL.read_bytes()
    table = read_source(data, SEOUL.name)
    assert table.detected.encoding == "cp949" and len(table.rows) == 895
    guess = check_guess(guess_mapping(table.headers), table.headers, table.rows)
    assert (guess.mapping.get("x"), guess.mapping.get("y")) == ("좌표정보(X)", "좌표정보(Y)")
    mapping = {"external_id": "관리번호", "name": "사업장명", "address": "도로명주소",
               "phone": "전화번호", "x": "좌표정보(X)", "y": "좌표정보(Y)"}
    with pytest.raises(ValidationError, match="EPSG:5174"):
        import_accounts(data, filename=SEOUL.name, mapping=mapping)
    result = import_accounts(data, filename=SEOUL.name, mapping=mapping, crs="EPSG:5174",
                             source="localdata")
    assert result.status == "committed", result.rejects[:5]
    a = db.session.scalars(select(Account).where(
        Account.external_id == "PHMA220093220033021200007")).one()
    assert a.name == "하나이비인후과병원" and a.address.startswith("서울특별시 강남구 역삼로 245")
    lon, lat = Transformer.from_crs("EPSG:5174", "EPSG:4326", always_xy=True).transform(
        203732.302296988, 443970.119760002)
    assert (a.lat, a.lon) == pytest.approx((lat, lon), abs=1e-6)
    located = db.session.execute(select(func.min(Account.lat), func.max(Account.lat),
                                        func.min(Account.lon), func.max(Account.lon)).where(
        Account.lat.is_not(None))).one()
    assert 37.45 <= located[0] and located[1] <= 37.68
    assert 126.79 <= located[2] and located[3] <= 127.18
    assert db.session.scalar(select(func.count(Account.id)).where(Account.lat.is_(None))) >= 1


@pytest.mark.skipif(not SABAE.exists(), reason="shared data absent")
def test_real_japanese_files_in_shift_jis():
    """Sabae hydrants (CP932) and Tokyo postal codes (CP932, half-width kana) read intact."""
    sabae = read_source(SABAE.read_bytes(), SABAE.name)
    assert sabae.detected.encoding == "cp932" and len(sabae.rows) == 2568
    assert sabae.headers[0] == "消火栓名" and sabae.rows[0][8] == "小黒町1丁目9-27"
    # 管理番号 numbers hydrants per fire brigade, so it repeats: not an external id.
    guess = check_guess(guess_mapping(sabae.headers), sabae.headers, sabae.rows)
    assert "external_id" not in guess.mapping and "'管理番号'" in guess.reasons["external_id"]
    assert (guess.mapping["lat"], guess.mapping["lon"], guess.mapping["address"]) == (
        "緯度", "経度", "住所")
    if TOKYO.exists():  # no header row: detected and decoded, then refused with a clear reason
        data = TOKYO.read_bytes()
        assert detect_encoding(data).encoding == "cp932"
        first = decode(data, "cp932").splitlines()[1].split(",")
        assert first[5] == '"ｲｲﾀﾞﾊﾞｼ"' and first[8] == '"飯田橋"'
        with pytest.raises(ValidationError, match="repeats the name"):
            read_source(data, TOKYO.name)


def test_cli_reads_cp949_and_x_y_with_a_crs(runner, app, world, tmp_path):
    """The CLI takes --encoding and --crs like the page (x/y mapped with --map)."""
    text, truth = _grid_file()
    path = tmp_path / "grid.csv"
    path.write_bytes(text.encode("cp949"))
    args = ["import-accounts", str(path), "--map", "x=좌표정보(X)", "--map", "y=좌표정보(Y)"]
    r = runner.invoke(args=args)
    assert r.exit_code != 0 and "EPSG:5174" in r.output and "crs" in r.output
    r = runner.invoke(args=[*args, "--crs", "EPSG:5174", "--encoding", "cp949"])
    assert r.exit_code == 0, r.output
    a = db.session.scalars(select(Account).where(Account.name == "서울시청")).one()
    assert (a.lat, a.lon) == pytest.approx(truth[0], abs=1e-5)


def test_x_y_and_crs_through_the_mapping_page(client, auth, world):
    """The page guesses 좌표정보(X)/(Y) as x/y, refuses to import without a CRS (naming it),
    and with EPSG:5174 imports the points where they are."""
    auth.login("manager@example.com")
    text, truth = _grid_file()
    url = _upload(client, text.encode("cp949"), "grid.csv").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert '<option selected value="좌표정보(X)">' in page  # the x select
    assert "not degrees" in page and "no coordinate system is given" in page
    mapping = {"external_id": "관리번호", "name": "사업장명", "x": "좌표정보(X)",
               "y": "좌표정보(Y)", "lat": "", "lon": ""}
    refused = client.post(url, data={**mapping, "preview": "1"})
    assert refused.status_code == 422 and "x/y columns are mapped" in refused.get_data(
        as_text=True)
    before = count()
    shown = client.post(url, data={**mapping, "crs": "EPSG:5174", "preview": "1"})
    assert "rows to add: <strong>3</strong>" in shown.get_data(as_text=True)
    assert count() == before
    done = client.post(url, data={**mapping, "crs": "EPSG:5174", "submit": "1"})
    assert done.status_code == 200 and "inserted: <strong>3</strong>" in done.get_data(
        as_text=True)
    a = db.session.scalars(select(Account).where(Account.external_id == "G-0")).one()
    assert (a.lat, a.lon) == pytest.approx(truth[0], abs=1e-5)


def test_a_workbooks_other_sheet_can_be_picked(client, auth, world):
    """A workbook whose first sheet is a summary: the page lists the sheets and reads the one
    picked; the import reads that same sheet."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "요약"
    book.active.append(["지점", "합계"])
    book.active.append(["서울", 2])
    book.create_sheet("빈 시트").append(["메모"])  # a header, no rows
    shops = book.create_sheet("가게")
    for row in (["Name", "Latitude", "Longitude"], ["김밥천국", 37.5665, 126.978],
                ["ラーメン 一蘭", 35.6617, 139.7005]):
        shops.append(row)
    out = io.BytesIO()
    book.save(out)
    auth.login("manager@example.com")
    url = _upload(client, out.getvalue(), "book.xlsx").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "sheet <strong>요약</strong>" in page and '<option value="가게"' in page
    page = client.get(url + "?sheet=가게").get_data(as_text=True)
    assert "sheet <strong>가게</strong>" in page and "ラーメン 一蘭" in page
    assert "rows to add: <strong>2</strong>" in page
    missing = client.get(url + "?sheet=없음")
    assert missing.status_code == 422
    assert ("the workbook has no sheet &#39;없음&#39; (its sheets: 요약, 빈 시트, 가게)"
            in missing.get_data(as_text=True))
    done = client.post(url, data={"name": "Name", "lat": "Latitude", "lon": "Longitude",
                                  "sheet": "가게", "submit": "1"})
    assert done.status_code == 200 and {"김밥천국", "ラーメン 一蘭"} <= names()
