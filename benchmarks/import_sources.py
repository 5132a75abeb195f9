"""Reading benchmark: turning a 100,000-row upload into rows (no database).

Measures, each phase in a fresh process so its peak memory is its own:

* a CP949 CSV (Korean names and addresses, grid x/y): detect the encoding, decode, parse;
* the same rows as an ``.xlsx`` workbook read with openpyxl in read-only mode;
* converting 100,000 x/y pairs from EPSG:5174 to latitude/longitude.

Prints seconds, rows/s and peak resident memory (MB) per phase.

    python benchmarks/import_sources.py [--rows N]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geocrm.imports import sources  # noqa: E402

NAMES = ["김밥천국", "서울식당", "한빛약국", "미소치과", "행복마트", "으뜸정육점", "푸른꽃집",
         "(주)한빛상사", "㈜대한상회", "새마을식당", "커피빈", "스타벅스"]
GU = ["강남구", "종로구", "중구", "마포구", "송파구", "서초구", "용산구", "성동구"]
ROADS = ["테헤란로", "세종대로", "종로", "을지로", "올림픽로", "반포대로", "한강대로"]
HEADER = ["관리번호", "사업장명", "도로명주소", "좌표정보(X)", "좌표정보(Y)"]


def make_rows(n: int) -> list[list[str]]:
    """Plausible Seoul register rows: repeated chains and streets, 5 % without x/y."""
    rnd = random.Random(11)
    rows = []
    for i in range(n):
        located = rnd.random() > 0.05
        rows.append([
            f"PHMA{i:012d}", f"{rnd.choice(NAMES)} {rnd.choice(GU)}점",
            f"서울특별시 {rnd.choice(GU)} {rnd.choice(ROADS)} {rnd.randint(1, 400)}",
            f"{rnd.uniform(182_000, 215_000):.3f}" if located else "",
            f"{rnd.uniform(439_000, 464_000):.3f}" if located else "",
        ])
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    text = "\n".join(",".join(r) for r in [HEADER, *rows]) + "\n"
    return text.encode("cp949")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("register")
    sheet.append(HEADER)
    for r in rows:
        sheet.append([r[0], r[1], r[2], float(r[3]) if r[3] else None,
                      float(r[4]) if r[4] else None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _phase(name: str, rows: int, queue: Any) -> None:
    data_rows = make_rows(rows)
    payload: Any
    if name == "csv":
        payload = csv_bytes(data_rows)
    elif name == "xlsx":
        payload = xlsx_bytes(data_rows)
    else:
        payload = [HEADER, data_rows]
    del data_rows
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if name == "csv":
        table = sources.read_source(payload, "register.csv")
        assert table.detected is not None and table.detected.encoding == "cp949"
        n = len(table.rows)
    elif name == "xlsx":
        table = sources.read_source(payload, "register.xlsx")
        n = len(table.rows)
    else:
        headers, body = payload
        rejects: list[Any] = []
        _, out, _ = sources.project_grid(headers, body, {"x": HEADER[3], "y": HEADER[4]},
                                         "EPSG:5174", lambda *r: rejects.append(r))
        assert not rejects
        n = len(out)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((name, n, seconds, peak / 1024, max(0, peak - base) / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    for name in ("csv", "xlsx", "grid"):
        queue = ctx.Queue()
        proc = ctx.Process(target=_phase, args=(name, args.rows, queue))
        proc.start()
        result = queue.get()
        proc.join()
        phase, n, seconds, peak_mb, grew_mb = result
        print(f"{phase:5} {n:>7} rows  {seconds:6.2f} s  {n / seconds:>9,.0f} rows/s  "
              f"peak RSS {peak_mb:6.0f} MB (+{grew_mb:.0f} MB while reading)")


if __name__ == "__main__":
    main()
