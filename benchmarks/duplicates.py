"""Duplicate-finder benchmark: 100,000 realistic accounts (goal ≤ 30 s and ≤ 1 GB resident).

The accounts: six cities (Seoul, Busan, Tokyo, Osaka, Helsinki, Oulu — Oulu at 65° N
needs three longitude cells either side), ~300 street names repeated, Korean, Japanese
and Finnish/English names (common ones like 서울식당 in many places), 40 chains with one
name in hundreds of places (one with a shared switchboard number), 5 % without
coordinates, and planted true duplicates: a copy 2–60 m from its original with the name
varied (a legal form added, a typo, half-width kana, case), some sharing the phone, some
copies without a pin.

The database is filled in this process; the scan runs in a fresh process (its peak
resident memory is its own, ``resource.getrusage``): the real job path (``submit_job`` on
the in-process backend, stored result), then page 1 and the last page read from the stored
result. Prints seconds, peak RSS, the pairs found, how many planted duplicates were
found (recall) and the load (``uptime``).

    python benchmarks/duplicates.py [--accounts N] [--postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

CITIES = [  # centre, spread (degrees), share, language
    ((37.5665, 126.9780), 0.08, 0.30, "ko"),
    ((35.1796, 129.0756), 0.06, 0.12, "ko"),
    ((35.6812, 139.7671), 0.09, 0.25, "ja"),
    ((34.6937, 135.5023), 0.06, 0.10, "ja"),
    ((60.1699, 24.9384), 0.06, 0.15, "fi"),
    ((65.0121, 25.4651), 0.04, 0.08, "fi"),
]
KO_A = ["서울", "행복", "한빛", "미소", "으뜸", "푸른", "새마을", "대한", "우리", "하나", "명동",
        "종로", "강남", "부산", "해운대", "동래", "청솔", "소망", "사랑", "늘푸른"]
KO_B = ["식당", "약국", "치과", "마트", "정육점", "꽃집", "상회", "분식", "카페", "의원",
        "안경", "세탁소", "미용실", "베이커리", "문구", "철물점"]
JA_A = ["さくら", "ひまわり", "富士", "大阪", "東京", "みどり", "日の出", "青空", "山田", "鈴木",
        "中村", "一蘭", "まるや", "花月", "朝日", "若葉"]
JA_B = ["食堂", "薬局", "歯科", "商店", "ラーメン", "書店", "カフェ", "美容室", "クリニック",
        "酒店", "寿司", "生花店"]
FI_A = ["Kahvila", "Kirja", "Apteekki", "Kukka", "Leipomo", "Optikko", "Studio", "Baari",
        "Market", "Sport", "Design", "Koru", "Musiikki", "Lelu", "Parturi", "Sushi"]
FI_B = ["Aalto", "Helmi", "Kulma", "Keskus", "Ranta", "Tähti", "Satama", "Puisto", "Kallio",
        "Linna", "Torni", "Kivi", "Lahti", "Metsä", "Niemi", "Joki"]
CHAINS = ["CU", "GS25", "세븐일레븐", "이마트24", "스타벅스", "파리바게뜨", "올리브영", "다이소",
          "김밥천국", "BBQ치킨", "セブン-イレブン", "ファミリーマート", "ローソン",
          "スターバックス",
          "マツモトキヨシ", "吉野家", "すき家", "ラーメン 一蘭", "松屋", "ドトール",
          "K-Market", "S-Market", "R-kioski", "Alepa", "Lidl", "Tokmanni", "Hesburger",
          "Subway", "McDonald's", "Burger King", "Musti ja Mirri", "Instrumentarium",
          "Specsavers", "Clas Ohlson", "Yliopiston Apteekki", "Neste", "ABC", "Posti",
          "Kotipizza", "Fafa's"]
LEGAL = {"ko": ["(주)", "㈜", "주식회사 "], "ja": ["株式会社", "(株)", "㈱"],
         "fi": [" Oy", " Ab", " Ltd"]}
HALF = str.maketrans({"ラ": "ﾗ", "ー": "ｰ", "メ": "ﾒ", "ン": "ﾝ", "カ": "ｶ", "フ": "ﾌ",
                      "ェ": "ｪ", "ク": "ｸ", "リ": "ﾘ", "ニ": "ﾆ", "ッ": "ｯ"})


def _streets() -> dict[str, list[str]]:
    """100 street names per language, 300 in all: every address repeats one of them."""
    ko = [f"{a}{b}" for a in ("테헤란", "세종", "을지", "반포", "한강", "올림픽", "중앙", "해운대",
                              "동래", "광복")
          for b in ("로", "대로", "길", "1길", "2길", "3길", "4길", "5길", "6길", "7길")]
    ja = [f"{a}{b}" for a in ("銀座", "本町", "中央", "栄", "新町", "駅前", "桜", "南", "北", "東")
          for b in ("通り", "一丁目", "二丁目", "三丁目", "四丁目", "五丁目", "六丁目", "七丁目",
                    "八丁目", "九丁目")]
    fi = [f"{a}{b}" for a in ("Mannerheimin", "Aleksanterin", "Fredrikin", "Hämeen", "Tehtaan",
                              "Runebergin", "Ison", "Kirkko", "Rauhan", "Puisto")
          for b in ("tie", "katu", "polku", "kuja", "rinne", "ranta", "puistikko", "kaari",
                    "väylä", "aukio")]
    return {"ko": ko, "ja": ja, "fi": fi}


def make_accounts(n: int, seed: int = 17) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """The accounts (dicts for a bulk insert, ids 1..n) and the planted duplicate pairs."""
    from geocrm.core.names import normalise_address, normalise_name
    from territories.geodesy import offset_m

    rng = random.Random(seed)
    streets = _streets()
    rows: list[dict[str, Any]] = []
    planted: list[tuple[int, int]] = []

    def city() -> tuple[tuple[float, float], float, str]:
        r, acc = rng.random(), 0.0
        for centre, spread, share, lang in CITIES:
            acc += share
            if r <= acc:
                return centre, spread, lang
        return CITIES[-1][0], CITIES[-1][1], CITIES[-1][3]

    def place(centre: tuple[float, float], spread: float) -> tuple[float, float]:
        return (centre[0] + rng.gauss(0, spread / 2), centre[1] + rng.gauss(0, spread))

    def add(name: str, lang: str, lat: float | None, lon: float | None, **extra: Any) -> int:
        i = len(rows) + 1
        street = rng.choice(streets[lang])
        address = extra.pop("address", f"{street} {rng.randint(1, 300)}")
        rows.append({
            "id": i, "name": name, "name_key": normalise_name(name), "address": address,
            "address_key": normalise_address(address), "lat": lat, "lon": lon,
            "phone": extra.pop("phone", f"+82 10 {rng.randint(1000, 9999)} {i:04d}"
                               if rng.random() < 0.6 else None),
            "email": extra.pop("email", f"shop{i}@example.com" if rng.random() < 0.3 else None),
            "source": "bench", "external_id": f"B{i}", **extra,
        })
        return i

    chain_share, dup_share = 0.20, 0.02
    n_dups = int(n * dup_share)
    n_chain = int(n * chain_share)
    for k in range(n - n_chain - n_dups):
        centre, spread, lang = city()
        if lang == "ko":
            name = f"{rng.choice(KO_A)}{rng.choice(KO_B)}"
        elif lang == "ja":
            name = f"{rng.choice(JA_A)}{rng.choice(JA_B)}"
        else:
            name = f"{rng.choice(FI_A)} {rng.choice(FI_B)}"
        if rng.random() < 0.35:  # most independents have a second word of their own
            name += f" {rng.choice(['본점', '2호점', '駅前店', '本店', 'Itä', 'Länsi'])}{k % 97}"
        lat, lon = place(centre, spread)
        add(name, lang, *((lat, lon) if rng.random() > 0.05 else (None, None)))
    switchboard = "+358 20 555 0100"
    for k in range(n_chain):
        name = CHAINS[k % len(CHAINS)]
        centre, spread, lang = city()
        lat, lon = place(centre, spread * 1.5)
        extra: dict[str, Any] = {"phone": switchboard} if name == "Hesburger" else {}
        add(name, lang, *((lat, lon) if rng.random() > 0.05 else (None, None)), **extra)
    originals = [r for r in rows if r["lat"] is not None and r["name"] not in CHAINS]
    for _ in range(n_dups):
        o = rng.choice(originals)
        lang = "ko" if o["lon"] > 126 and o["lon"] < 130 else "ja" if o["lon"] > 130 else "fi"
        name = o["name"]
        variant = rng.random()
        if variant < 0.3:
            legal = rng.choice(LEGAL[lang])
            name = legal + name if legal[0] != " " else name + legal
        elif variant < 0.55 and len(name) > 5:
            cut = rng.randrange(1, len(name) - 1)
            name = name[:cut] + name[cut + 1:]  # one letter dropped
        elif variant < 0.7:
            name = name.translate(HALF).upper()
        bearing = rng.random() * 6.283
        metres = rng.uniform(2, 60)
        lat, lon = offset_m(o["lat"], o["lon"], metres, bearing)
        pin: tuple[float | None, float | None] = (lat, lon)
        if rng.random() < 0.1:
            pin = (None, None)  # the copy came from a list without coordinates
        same: dict[str, Any] = {"phone": o["phone"]} if rng.random() < 0.5 and o["phone"] else {}
        planted.append((o["id"], add(name, lang, *pin, address=o["address"], **same)))
    return rows, planted


def fill(url: str, n: int) -> list[tuple[int, int]]:
    """Create the schema, an admin and the accounts; returns the planted pairs."""
    from geocrm import create_app
    from geocrm.auth.services import create_user
    from geocrm.extensions import db
    from geocrm.models import Account, Role

    rows, planted = make_accounts(n)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        create_user("admin@example.com", "Admin", "correct-horse-battery", Role.ADMIN)
        for start in range(0, len(rows), 10_000):
            db.session.execute(insert(Account), rows[start:start + 10_000])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return planted


def run_scan(url: str) -> None:
    """Child process: the scan as a job, then two pages of its stored result."""
    from geocrm import create_app
    from geocrm.crm import duplicates
    from geocrm.extensions import db
    from geocrm.jobs import wait_for_job
    from geocrm.models import User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        admin = db.session.query(User).filter_by(email="admin@example.com").one()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        job = duplicates.start_scan(admin)
        job = wait_for_job(job.id, timeout=600)
        took = time.perf_counter() - start
        assert job.status.value == "done", job.error
        result: dict[str, Any] = job.result or {}
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        first = duplicates.stored_page(admin, result, 1)
        last = duplicates.stored_page(admin, result, 10**6)
        pages = time.perf_counter() - start
        print(f"scan job      {result['accounts']:>8,} accounts {took:7.2f} s  "
              f"peak RSS {peak:6.0f} MB (app loaded: {before:.0f} MB)")
        print(f"pairs         {result['total']:>8,} found, {len(result['pairs']):,} stored; "
              f"page 1 and page {last.number} of {first.pages} read back in {pages:.3f} s")
        found = {(p[0], p[1]) for p in result["pairs"]}
        print("FOUND " + " ".join(f"{a}-{b}" for a, b in found))
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true",
                        help="also on PostgreSQL (GEOCRM_TEST_POSTGRES_URL, own database)")
    parser.add_argument("--scan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan:
        run_scan(args.scan)
        return
    targets: list[tuple[str, str, Any]] = []
    tmp = tempfile.TemporaryDirectory()
    targets.append(("sqlite", f"sqlite:///{tmp.name}/bench.sqlite", None))
    pg = os.environ.get("GEOCRM_TEST_POSTGRES_URL")
    if args.postgres and pg:
        from geocrm.config import normalise_database_url

        base = make_url(normalise_database_url(pg))
        name = f"{base.database}_bench_dups"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        eng = create_engine(base.set(database=name))
        with eng.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        eng.dispose()
        targets.append(("postgresql", base.set(database=name).render_as_string(
            hide_password=False), (admin, name)))
    try:
        for label, url, _ in targets:
            start = time.perf_counter()
            planted = fill(url, args.accounts)
            print(f"[{label}] filled {args.accounts:,} accounts in "
                  f"{time.perf_counter() - start:.1f} s; load: {os.getloadavg()[0]:.2f}")
            proc = subprocess.run([sys.executable, __file__, "--scan", url],
                                  capture_output=True, text=True)
            if proc.returncode:
                sys.stderr.write(proc.stderr[-4000:])
                raise SystemExit(proc.returncode)
            found: set[tuple[int, int]] = set()
            for line in proc.stdout.splitlines():
                if line.startswith("FOUND "):
                    for p in line[6:].split():
                        a, b = p.split("-")
                        found.add((int(a), int(b)))
                else:
                    print(f"[{label}] {line}")
            hit = sum(1 for a, b in planted if (min(a, b), max(a, b)) in found)
            print(f"[{label}] planted duplicates found: {hit:,} of {len(planted):,} "
                  f"({hit / max(1, len(planted)):.1%})")
            load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
            print(f"[{label}] uptime: {load}")
    finally:
        for _, _, pg_target in targets:
            if pg_target:
                admin, name = pg_target
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        tmp.cleanup()


if __name__ == "__main__":
    main()
