"""Property: snapshot pairs import exactly - nothing lost, nothing doubled, re-import a no-op,
merges kept - on both engines, in mixed scripts and in CP949 / Shift_JIS / UTF-8 files.

Hypothesis draws a register (businesses with licence numbers, some sharing a campus and a
name; a few without any id), a first snapshot (rows repeated within the file, any order), a
merge a manager makes after it, and a newer snapshot (rows dropped, added, renamed,
re-phoned, moved, repeated). Each file is written in CP949 when every name is Korean, in
Shift_JIS when every name is Japanese, else in UTF-8. After each import the account table
must equal what a small reference model of the rules says, field by field: one account per
licence (the merged-away one gone, its licence landing on the survivor), one per id-less
business, the snapshot's flags exactly on the accounts it no longer has, and a person's
merge never undone (a field the survivor holds from another record is a conflict).
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from geocrm.crm.merging import merge_accounts
from geocrm.extensions import db
from geocrm.imports.services import import_accounts
from geocrm.models import Account, AuditEntry, Role, User
from tests.factories import make_user

NAMES = {
    "ko": ["김밥천국", "서울식당", "한솔약국", "파리바게뜨", "스타벅스 강남점", "이디야커피"],
    "ja": ["ラーメン 一蘭", "すき家", "ローソン", "吉野家", "ﾄﾞﾄｰﾙ", "珈琲館 本店"],
    "latin": ["Café Ääni", "Bäckerei Müller", "Ølhus", "Crème & Co", "Señor Taco", "Łódź Bar"],
}
# How the file is written, and the name the upload page lists it under (Shift_JIS as CP932,
# its Windows superset).
ENCODING = {"ko": "cp949", "ja": "shift_jis", "latin": "utf-8", "mixed": "utf-8"}
DECLARED = {"cp949": "cp949", "shift_jis": "cp932", "utf-8": "utf-8"}
SITES = [(60.1700, 24.9400), (60.1800, 24.9000), (60.1650, 24.9800)]
PHONES = ["09 100", "09 200", "09 300", "040 1", "040 2"]
HEADER = ["Licence", "Name", "Address", "Lat", "Lon", "Phone"]
MAPPING = {"external_id": "Licence", "name": "Name", "address": "Address", "lat": "Lat",
           "lon": "Lon", "phone": "Phone"}
FIELDS = ("name", "lat", "lon", "phone")


@dataclass
class Business:
    """One row's worth of a business as the register states it."""

    ext: str  # "" for a business the register lists without an id
    name: str
    address: str
    lat: float
    lon: float
    phone: str

    def row(self) -> list[str]:
        return [self.ext, self.name, self.address, f"{self.lat:.6f}", f"{self.lon:.6f}",
                self.phone]

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "lat": round(self.lat, 6), "lon": round(self.lon, 6),
                "phone": self.phone}


@dataclass
class Case:
    script: str
    first: list[Business]
    second: list[Business]
    merge: tuple[str, str] | None  # (survivor licence, merged licence) after the first
    picks: dict[str, str] = field(default_factory=dict)  # the manager's picks in the merge


@st.composite
def cases(draw: st.DrawFn) -> Case:
    script = draw(st.sampled_from(["ko", "ja", "latin", "mixed"]))
    pool = [n for s in NAMES for n in NAMES[s]] if script == "mixed" else NAMES[script]
    rnd = random.Random(draw(st.integers(0, 2**32)))
    counter = iter(range(1000))

    def identified() -> Business:
        site = rnd.choice(SITES)  # a campus: many businesses, one address, near each other
        k = next(counter)
        jitter = rnd.choice([0, 1, 2, 5])
        return Business(f"R{k}", rnd.choice(pool), f"Campus {SITES.index(site)}",
                        site[0] + jitter * 0.00001, site[1] + jitter * 0.00001,
                        rnd.choice(PHONES))

    def idless() -> Business:
        k = next(counter)  # a name and an address nobody else has, ~110 m from the others
        return Business("", f"{rnd.choice(pool)} {k}", f"Yksin {k}", 60.30 + k * 0.001,
                        25.00, rnd.choice(PHONES))

    register = [identified() for _ in range(draw(st.integers(1, 7)))]
    register += [idless() for _ in range(draw(st.integers(0, 2)))]
    first = list(register)
    second: list[Business] = []
    for b in register:
        fate = draw(st.sampled_from(["keep", "keep", "drop", "phone", "name", "move"]))
        if fate == "drop":
            continue
        if b.ext == "" and fate in ("name", "move"):
            fate = "phone"  # an id-less business is only known by its name and place
        changed = Business(**b.__dict__)
        if fate == "phone":
            changed.phone = rnd.choice([p for p in PHONES if p != b.phone])
        elif fate == "name":
            changed.name = rnd.choice([n for n in pool if n != b.name] or [b.name + " 2"])
        elif fate == "move":
            site = rnd.choice(SITES)
            changed.lat, changed.lon = site[0] + 0.0003, site[1] + 0.0003
        second.append(changed)
    second += [identified() for _ in range(draw(st.integers(0, 3)))]
    second += [idless() for _ in range(draw(st.integers(0, 1)))]
    if not second:  # a file without data rows is refused, as it should be
        second.append(identified())
    for rows in (first, second):  # rows repeated within the file, and any order
        rows += [Business(**r.__dict__) for r in rows[: draw(st.integers(0, 2))]]
        rnd.shuffle(rows)
    merge = None
    ids = sorted({b.ext for b in register if b.ext}, key=lambda e: int(e[1:]))
    if len(ids) >= 2 and draw(st.booleans()):
        survivor, merged = rnd.sample(ids, 2)
        merge = (survivor, merged)
    picks = {f: "merged" for f in draw(st.sets(st.sampled_from(
        ["name", "phone", "location", "external_id"])))}
    return Case(script, first, second, merge, picks)


def csv_bytes(rows: list[Business], script: str) -> tuple[bytes, str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow(r.row())
    encoding = ENCODING[script]  # a Korean-only file in CP949, a Japanese-only one in Shift_JIS
    return out.getvalue().encode(encoding), encoding


# -- the reference model of the rules ----------------------------------------------------
@dataclass
class Model:
    """What the account table must hold: accounts by key, each record's last word."""

    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    idless: dict[str, int] = field(default_factory=dict)  # name -> account
    conflicts: int = 0
    next_key: int = 0

    def new(self, b: Business) -> int:
        self.next_key += 1
        self.accounts[self.next_key] = {**b.values(), "ext": b.ext or None, "missing": False}
        return self.next_key

    def three_way(self, key: int, base: dict[str, Any], b: Business) -> dict[str, Any]:
        account = self.accounts[key]
        theirs_all = b.values()
        location = [("lat", "lon"), ("name",), ("phone",)]
        for cols in location:
            theirs = tuple(theirs_all[c] for c in cols)
            mine = tuple(account[c] for c in cols)
            was = tuple(base[c] for c in cols)
            if theirs == mine:
                continue
            if was == mine:
                account.update(zip(cols, theirs, strict=True))
            elif was != theirs:
                self.conflicts += 1
        return theirs_all

    def load(self, rows: list[Business]) -> None:
        seen, matched = set(), set()
        for b in rows:
            if b.ext:
                if b.ext in seen:
                    continue
                seen.add(b.ext)
                if b.ext in self.records:
                    key, base = self.records[b.ext]
                    self.records[b.ext] = (key, self.three_way(key, base, b))
                else:
                    key = self.new(b)
                    self.records[b.ext] = (key, b.values())
            else:
                key = self.idless.get(b.name)
                if key is not None and key in matched:
                    continue
                if key is None:
                    key = self.idless[b.name] = self.new(b)
                    self.records[f"name:{b.name}"] = (key, b.values())
                else:
                    _, base = self.records[f"name:{b.name}"]
                    self.records[f"name:{b.name}"] = (key, self.three_way(key, base, b))
            matched.add(key)
        for key, account in self.accounts.items():
            account["missing"] = key not in matched

    def merge(self, survivor: str, merged: str, picks: dict[str, str]) -> None:
        s_key, _ = self.records[survivor]
        m_key, _ = self.records[merged]
        gone = self.accounts.pop(m_key)
        for pick, cols in (("name", ("name",)), ("phone", ("phone",)),
                           ("location", ("lat", "lon")), ("external_id", ("ext",))):
            if pick in picks:
                self.accounts[s_key].update({c: gone[c] for c in cols})
        for ext, (key, base) in list(self.records.items()):
            if key == m_key:
                self.records[ext] = (s_key, base)
        # Both were in the first snapshot: the survivor is not missing, keeps its values.
        self.accounts[s_key]["missing"] = False

    def table(self) -> list[tuple[Any, ...]]:
        return sorted((a["ext"] or "", a["name"], a["lat"], a["lon"], a["phone"], a["missing"])
                      for a in self.accounts.values())


def db_table() -> list[tuple[Any, ...]]:
    return sorted(
        (a.external_id or "", a.name, round(a.lat, 6), round(a.lon, 6), a.phone,
         a.missing_since is not None)
        for a in db.session.scalars(select(Account)))


def _empty_database() -> None:
    for table in reversed(db.metadata.sorted_tables):
        if table.name != "users":
            db.session.execute(table.delete())
    db.session.commit()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_snapshot_pairs_import_exactly(app, case):
    """Two snapshots with a merge between: the account table equals the reference model
    after each import; the second import of the newer file changes nothing at all."""
    _empty_database()
    admin = db.session.scalars(select(User).where(User.role == Role.ADMIN)).first() or make_user(
        "admin@example.com", Role.ADMIN, "correct-horse-battery")
    db.session.commit()
    model = Model()

    def load(rows: list[Business], name: str) -> Any:
        data, encoding = csv_bytes(rows, case.script)
        result = import_accounts(data, filename=name, source="register", mapping=MAPPING,
                                 snapshot=True, encoding=DECLARED[encoding], user=admin)
        assert result.status != "rejected", result.rejects
        db.session.commit()
        return result

    load(case.first, "first.csv")
    model.load(case.first)
    assert db_table() == model.table()
    if case.merge:
        ids = {a.external_id: a.id for a in db.session.scalars(select(Account))}
        merge_accounts(admin, ids[case.merge[0]], ids[case.merge[1]], case.picks)
        db.session.commit()
        model.merge(*case.merge, case.picks)
        assert db_table() == model.table()
    conflicts_before = model.conflicts
    result = load(case.second, "second.csv")
    model.load(case.second)
    assert db_table() == model.table()
    assert len(result.conflicts) == model.conflicts - conflicts_before
    event(f"script {case.script}, merge {bool(case.merge)}, conflicts {bool(result.conflicts)},"
          f" flagged {bool(result.flagged_missing)}, to review "
          f"{any(d.outcome == 'review' for d in result.duplicates)}")
    versions = dict(db.session.execute(select(Account.id, Account.version)).all())
    audits = db.session.scalar(select(func.count(AuditEntry.id)))
    again = load(case.second, "second.csv")
    assert again.status == "unchanged", again
    assert (again.inserted, again.updated, again.flagged_missing, again.unflagged,
            len(again.conflicts)) == (0, 0, 0, 0, 0)
    assert dict(db.session.execute(select(Account.id, Account.version)).all()) == versions
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audits + 1  # the batch's
