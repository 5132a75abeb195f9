"""Import benchmark: 100,000 CSV rows into a fresh SQLite file (goal ≥ 20,000 rows/s).

The rows look like a real register (see :func:`make_csv`): repeated street addresses,
chains with one name in thousands of places, Korean and Japanese names, rows without
coordinates or without an id. Prints rows/s, CPU seconds (with the child process that cleans
half of a large file's rows) and peak RSS (this process's, and the largest child's, whose
pages are mostly shared with it) for a first import and for a re-import of the same file
(every row matched, nothing written). Then the same kind of rows as an ``.xlsx`` workbook
(``--xlsx-rows``, 20,000 by default; shared strings, as Excel writes them): reading it alone
(openpyxl, read-only, values only) and importing it. With ``GEOCRM_TEST_POSTGRES_URL`` set it
measures PostgreSQL too, in a database of its own that it creates and drops.

    python benchmarks/import.py [--rows N] [--xlsx-rows N]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geocrm import create_app  # noqa: E402
from geocrm.config import normalise_database_url  # noqa: E402
from geocrm.core.transaction import transaction  # noqa: E402
from geocrm.extensions import db  # noqa: E402
from geocrm.imports import sources  # noqa: E402
from geocrm.imports.services import import_accounts  # noqa: E402
from geocrm.models import Territory  # noqa: E402

# Realistic data (issue 11): ~300 streets (Finnish, Korean and Japanese) whose numbers
# repeat, so many rows share an address; chains with one name in thousands of places;
# Korean and Japanese names (as common names repeat in different places); 5 % of rows
# without coordinates; 3 % without an external id (matched by the duplicate rule).
WORDS = ["Kahvila", "Kirja", "Apteekki", "Kukka", "Leipomo", "Optikko", "Studio", "Baari",
         "Market", "Sport", "Design", "Koru", "Musiikki", "Lelu", "Parturi", "Sushi", "Café",
         "Ääni", "Pöllö", "Sähkö"]
KO = ["서울", "한솔", "김밥", "천국", "식당", "약국", "카페", "미용실", "치킨", "분식", "마트",
      "안경", "꽃집", "빵집", "세탁소", "헬스"]
JA = ["ラーメン", "一蘭", "珈琲", "喫茶", "寿司", "本店", "薬局", "書店", "花屋", "酒場", "ﾊﾟﾝ",
      "食堂", "理容", "整骨院"]
CHAINS = ["K-Market", "R-Kioski", "Alepa", "S-Market", "Lidl", "세븐일레븐", "GS25", "CU",
          "스타벅스", "ローソン", "セブン-イレブン", "ファミリーマート", "McDonald's", "Subway",
          "Hesburger", "Tokmanni", "Musti ja Mirri", "Instrumentarium", "Specsavers", "Oikotie"]
STREET_ENDS = {"fi": ["katu", "tie", "kuja", "polku", "ranta"], "ko": ["로", "길", "대로", "번길"],
               "ja": ["通り", "町", "丁目"]}
STREET_STEMS = {"fi": ["Mannerheimin", "Aleksanterin", "Fredrikin", "Hämeen", "Mechelinin",
                       "Runebergin", "Sturen", "Tehtaan", "Kaisaniemen", "Itä", "Länsi",
                       "Pohjois", "Etelä", "Koivu", "Kuusi", "Mänty", "Vaahtera", "Tammi",
                       "Pihlaja", "Kallio", "Ranta", "Meri", "Satama", "Asema", "Kirkko",
                       "Koulu", "Puisto", "Mylly", "Tori", "Kauppa", "Silta", "Joki", "Lähde",
                       "Niitty", "Pelto"],
                "ko": ["세종", "테헤란", "을지", "퇴계", "종", "강남대", "도산대", "압구정",
                       "반포대", "올림픽", "양재", "남부순환", "동일", "천호대", "망원",
                       "연희", "신촌", "이태원", "한강대", "청계천"],
                "ja": ["銀座", "青山", "表参道", "明治", "靖国", "外堀", "中央", "昭和", "新宿",
                       "渋谷", "本郷", "神田", "日本橋", "浅草", "上野"]}


def streets() -> list[str]:
    """About 300 street names in three languages."""
    return [f"{stem}{end}" for lang, stems in STREET_STEMS.items() for stem in stems
            for end in STREET_ENDS[lang]]


def make_csv(rows: int) -> bytes:
    """Accounts over greater Helsinki with the repetition real registers have; deterministic."""
    rng = random.Random(7)
    all_streets = streets()
    out = io.StringIO()
    out.write("External ID,Company,Address,Postcode,Latitude,Longitude,Stage,Opening hours,"
              "Tags,Value\n")
    stages = ["lead", "prospect", "customer", "lost"]
    for i in range(rows):
        kind = rng.random()
        if kind < 0.25:
            name = rng.choice(CHAINS)  # one name in thousands of places
        elif kind < 0.45:
            name = "".join(rng.sample(KO, 2))
        elif kind < 0.60:
            name = "".join(rng.sample(JA, 2))
        else:
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
        if rng.random() < 0.05:
            lat = lon = ""
        else:
            lat = f"{60.10 + rng.random() * 0.20:.6f}"
            lon = f"{24.70 + rng.random() * 0.50:.6f}"
        ext = "" if rng.random() < 0.03 else f"E{i}"
        address = f"{rng.choice(all_streets)} {rng.randint(1, 120)}"
        out.write(
            f"{ext},{name},{address},00{rng.randint(100, 990)},{lat},{lon},"
            f"{rng.choice(stages)},Mo-Fr 09:00-17:00,"
            f"{rng.choice(['retail', 'horeca', 'health'])},{rng.randint(0, 50000)}\n"
        )
    return out.getvalue().encode()


def make_xlsx(rows: int) -> bytes:
    """The rows of :func:`make_csv` as a workbook: numbers as numbers, text as shared
    strings (what Excel writes)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "accounts"
    for n, cells in enumerate(csv.reader(io.StringIO(make_csv(rows).decode()))):
        if n:
            for i in (4, 5, 9):  # latitude, longitude, value
                cells[i] = float(cells[i]) if cells[i] else None  # type: ignore[call-overload]
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure_xlsx(url: str, data: bytes, rows: int) -> None:
    """Reading the workbook alone (no cache), then importing it into a fresh database."""
    start, cpu = time.perf_counter(), time.process_time()
    table = sources.read_source(data, "bench.xlsx")
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(table.rows) == rows
    print(f"{'xlsx':<10} {'read only':<13} {rows:>8} rows {took:7.2f} s {rows / took:10,.0f} rows/s"
          f" (CPU {cpu:.2f} s: {rows / cpu:,.0f} rows/s); load {_load()}", flush=True)
    measure(url, data, rows, "xlsx", filename="bench.xlsx", runs=("first import",))


def _load() -> str:
    """The machine's 1-minute load average: the wall clock (and, less, the CPU time) of a
    shared machine measures its neighbours too."""
    return f"{os.getloadavg()[0]:.1f}"


def territories() -> None:
    """Eight vertical strips tiling the area, as a company would have."""
    for k in range(8):
        t = Territory(name=f"T{k}", color="#336699")
        t.set_geometry(shapely.box(24.70 + k * 0.0625, 60.10, 24.70 + (k + 1) * 0.0625, 60.30))
        db.session.add(t)
    db.session.commit()


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(url: str, data: bytes, rows: int, label: str, *, filename: str = "bench.csv",
            runs: tuple[str, ...] = ("first import", "re-import")) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        territories()
        for run in runs:
            start, cpu, kids = time.perf_counter(), time.process_time(), _children_cpu()
            with transaction():  # the caller commits: its cost is part of the import
                result = import_accounts(data, filename=filename, source="bench")
            took = time.perf_counter() - start
            # This process's threads and the child that cleans half the rows (halves.py).
            cpu = time.process_time() - cpu + _children_cpu() - kids
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            # CPU seconds too: on a shared machine the wall clock measures the neighbours.
            print(f"{label:<10} {run:<13} {rows:>8} rows {took:7.2f} s {rows / took:10,.0f} rows/s"
                  f" (CPU {cpu:.2f} s: {rows / cpu:,.0f} rows/s)  peak RSS {peak:,.0f} MB"
                  f" (a child's: {child:,.0f} MB, mostly pages it shares)"
                  f" ({result.status}: inserted {result.inserted}, "
                  f"updated {result.updated}, unchanged {result.unchanged}, "
                  f"to review {result.counts['to_review']}, repeats "
                  f"{sum(d.outcome == 'repeat' for d in result.duplicates)}); "
                  f"load {_load()}", flush=True)
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    args = parser.parse_args()
    data = make_csv(args.rows)
    print(f"CSV: {args.rows} rows, {len(data) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/bench.sqlite", data, args.rows, "sqlite")
    if args.xlsx_rows:
        book = make_xlsx(args.xlsx_rows)
        print(f"xlsx: {args.xlsx_rows} rows, {len(book) / 1e6:.1f} MB")
        with tempfile.TemporaryDirectory() as tmp:
            measure_xlsx(f"sqlite:///{tmp}/xlsx.sqlite", book, args.xlsx_rows)
    pg = os.environ.get("GEOCRM_TEST_POSTGRES_URL")
    if pg:
        url = make_url(normalise_database_url(pg))
        name = f"{url.database}_bench_import"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        target = url.set(database=name)
        eng = create_engine(target)
        with eng.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        eng.dispose()
        try:
            measure(target.render_as_string(hide_password=False), data, args.rows, "postgresql")
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
