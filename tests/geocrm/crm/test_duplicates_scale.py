"""The duplicate finder at scale: blocking that misses no pair the rule wants, in every
script and across cell borders, a background scan whose stored result is paged, scoping."""

from __future__ import annotations

import itertools
import math
import random
import re

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from geocrm.core.names import name_similarities, name_similarity, normalise_name
from geocrm.crm import duplicate_scan, duplicates
from geocrm.extensions import db
from geocrm.jobs import drain
from geocrm.models import Account, Role
from geocrm.models.planning import Job, JobStatus
from territories.geodesy import haversine_m, offset_m
from tests.conftest import PASSWORD
from tests.factories import make_account, make_territory, make_user


def _pairs(user, **kw):
    return {(c.a_id, c.b_id) for c in duplicates.find_duplicates(user, **kw)}


def test_seoul_restaurants_4_m_apart_are_found_two_cjk_neighbours_are_not(app, world):
    """서울식당 twice 4 m apart is a pair; 김밥천국 and ラーメン 一蘭 50 m apart are not."""
    a = make_account("서울식당", 37.56650, 126.97800)
    b = make_account("㈜서울식당", *offset_m(37.56650, 126.97800, 4.0, 0.3))
    c = make_account("김밥천국", 37.57000, 126.98000)
    d = make_account("ラーメン 一蘭", *offset_m(37.57000, 126.98000, 50.0, 1.0))
    db.session.commit()
    found = {(x.a_id, x.b_id): x for x in duplicates.find_duplicates(world.admin)}
    assert (a.id, b.id) in found and found[(a.id, b.id)].distance_m == pytest.approx(4, abs=0.2)
    assert found[(a.id, b.id)].name_similarity == 1.0
    assert (c.id, d.id) not in found
    assert set(found) == {(a.id, b.id)}


def test_a_chain_in_many_places_is_not_duplicates(app, world):
    """One name in 30 places 2 km apart pairs nothing; its unpinned shop pairs only with the
    one at its address; a rare name without a pin pairs with its pinned namesake."""
    shops = [make_account("CU", 37.50 + 0.02 * (k // 6), 126.90 + 0.025 * (k % 6),
                          address=f"테헤란로 {k + 1}") for k in range(30)]
    unpinned = make_account("CU", None, None, address="테헤란로 7")
    rare = make_account("한빛약국", 37.51, 126.95)
    rare_unpinned = make_account("(주)한빛약국", None, None)
    db.session.commit()
    assert _pairs(world.admin) == {(shops[6].id, unpinned.id), (rare.id, rare_unpinned.id)}
    reasons = {(c.a_id, c.b_id): c.reasons for c in duplicates.find_duplicates(world.admin)}
    assert "same address" in reasons[(shops[6].id, unpinned.id)]


def test_same_name_across_a_cell_border_is_found(app, world):
    """Two pins 4 m apart on either side of a grid line, and two 200 m apart at 65° N where
    a longitude cell is 118 m wide (two cells apart): both found. Naive gridding (same
    cell only, or one neighbour cell) would miss each; the preconditions prove they differ."""
    cell = duplicate_scan._CELL_DEG
    border = math.floor(37.5665 / cell) * cell
    a = make_account("서울식당", border - 0.000018, 126.978)
    b = make_account("서울식당", border + 0.000018, 126.978)
    north_lat = 65.0121
    c_lon = (math.floor(25.4651 / cell) + 0.99) * cell
    c = make_account("Kahvila Aalto", north_lat, c_lon)
    d = make_account("Kahvila Aalto", *offset_m(north_lat, c_lon, 200.0, math.pi / 2))
    db.session.commit()
    assert math.floor(a.lat / cell) != math.floor(b.lat / cell)
    assert haversine_m(a.lat, a.lon, b.lat, b.lon) < 5
    assert math.floor(d.lon / cell) - math.floor(c.lon / cell) == 2
    assert _pairs(world.admin) == {(a.id, b.id), (c.id, d.id)}


def test_a_crowded_spot_is_compared_by_rarer_words_and_reported(app, client, auth, world,
                                                                monkeypatch):
    """Too many pins with one name word in one cell (a town centre) are not compared by that
    word, but by their rarer ones: the two "Kahvila Aalto" still pair; the page says so."""
    monkeypatch.setattr(duplicate_scan, "MAX_BLOCK", 3)  # the scan's limit
    monkeypatch.setattr(duplicates, "MAX_BLOCK", 3)  # the name the page quotes
    spot = (60.1655, 24.9155)
    a, b = (make_account("Kahvila Aalto", *spot, territory_id=world.west.id) for _ in range(2))
    for other in ("Kahvila Helmi", "Kahvila Kulma"):
        make_account(other, *spot, territory_id=world.west.id)
    db.session.commit()
    found = duplicates.scan_for(world.manager)
    assert found.crowded == 4 and _pairs(world.manager) == {(a.id, b.id)}
    auth.login("manager@example.com")
    html = client.get("/crm/duplicates").get_data(as_text=True)
    assert re.search(r'id="crowded">4 account\(s\) sit where more than 3 pins', html)


def test_scan_agrees_with_the_rule_on_every_pair():
    """On 600 accounts in tight clusters (equator, Seoul, 65° N, the ±180° line), half the
    names varied by one edit: every pair the blocked scan finds meets the rule, and it finds
    every pair that comparing all 180,000 pairs with the rule finds where the names are at
    most one edit apart (one of the two unedited)."""
    rng = random.Random(5)
    bases = ["kahvila aalto", "서울식당 본점", "ラーメン一蘭 本店", "apteekki keskus",
             "미소베이커리", "みどり美容室 駅前", "leipomo helmi", "parturi kallio"]
    centres = [(0.0001, 10.0), (37.5665, 126.978), (65.0121, 25.4651), (10.0, 179.9995)]
    names, lat, lon, keys, edited = [], [], [], [], []
    for _ in range(600):
        base = rng.choice(bases)
        edited.append(rng.random() < 0.5)
        if edited[-1]:
            k = rng.randrange(len(base))
            base = base[:k] + rng.choice(["", "x", base[k]]) + base[k + 1:]
        clat, clon = rng.choice(centres)
        if rng.random() < 0.05:
            plat = plon = math.nan
        else:
            plat, plon = offset_m(clat, clon, rng.uniform(0, 900), rng.uniform(0, 2 * math.pi))
            plon = (plon + 180) % 360 - 180
        names.append(base)
        keys.append(normalise_name(base))
        lat.append(plat)
        lon.append(plon)
    n = len(names)
    cols = duplicates.Columns(
        np.arange(1, n + 1, dtype=np.int64), names, keys, np.array(lat), np.array(lon),
        [None] * n, [None] * n, [None] * n, [None] * n, np.ones(n, bool))
    found = duplicates.scan(cols)
    expected, one_edit = set(), set()
    for i, j in itertools.combinations(range(n), 2):
        sim = name_similarity(keys[i], keys[j])
        if math.isnan(lat[i]) or math.isnan(lat[j]):
            continue  # unpinned pairs are blocked by exact name or address: tested above
        if sim >= duplicates.MIN_NAME_SIMILARITY and haversine_m(
                lat[i], lon[i], lat[j], lon[j]) <= duplicates.MAX_DISTANCE_M:
            expected.add((i + 1, j + 1))
            if not (edited[i] and edited[j]):
                one_edit.add((i + 1, j + 1))
    got = {(a, b) for a, b in zip(found.a_ids.tolist(), found.b_ids.tolist(), strict=True)
           if not (math.isnan(lat[a - 1]) or math.isnan(lat[b - 1]))}
    assert len(one_edit) > 400  # the clusters are dense: plenty of pairs to miss
    assert one_edit <= got <= expected
    assert any(lon[a - 1] * lon[b - 1] < 0 for a, b in got)  # pairs across ±180° too


_LETTERS = ("abcdefghijklmnopqrstuvwxyzäö" + "가나다라마바사아자차카타파하식당병원"
            + "あいうえおカキクケコ店")


@settings(max_examples=300, deadline=None)
@given(
    base=st.text(_LETTERS, min_size=7, max_size=14),
    edit=st.sampled_from(["delete", "insert", "replace"]),
    where=st.floats(0, 1), letter=st.sampled_from(_LETTERS),
    lat=st.floats(-75, 75), lon=st.floats(-180, 180, exclude_max=True),
    metres=st.floats(0, 249), bearing=st.floats(0, 2 * math.pi),
)
def test_one_edit_within_the_radius_is_always_found(base, edit, where, letter, lat, lon,
                                                    metres, bearing):
    """Anywhere on earth (cell borders, high latitudes, the ±180° line) two pins under 250 m
    apart whose names of 7+ letters differ by one edit, in any script, are paired."""
    k = min(int(where * len(base)), len(base) - 1)
    other = {"delete": base[:k] + base[k + 1:], "insert": base[:k] + letter + base[k:],
             "replace": base[:k] + letter + base[k + 1:]}[edit]
    lat2, lon2 = offset_m(lat, lon, metres, bearing)
    lon2 = (lon2 + 180) % 360 - 180
    keys = [normalise_name(base), normalise_name(other)]
    cols = duplicates.Columns(
        np.array([1, 2]), [base, other], keys, np.array([lat, lat2]), np.array([lon, lon2]),
        [None, None], [None, None], [None, None], [None, None], np.ones(2, bool))
    found = duplicates.scan(cols)
    alike = name_similarity(*keys) >= duplicates.MIN_NAME_SIMILARITY
    assert alike  # one edit in 7+ letters is always alike by the rule
    assert [(int(a), int(b)) for a, b in zip(found.a_ids, found.b_ids, strict=True)] == [(1, 2)]


def test_real_seoul_hospital_register_loses_no_pair_the_rule_finds():
    """The real LOCALDATA register (895 hospitals, CP949, EPSG:5174, re-licensed names):
    every pair comparing all 400,000 pairs with the rule finds (pinned, or same phone or
    licence) is found, 세정한방병원 / 세정병원 at one spot among them (no shared word)."""
    import csv
    import io

    from pyproj import Transformer

    from tests.shared_data import shared_data

    path = shared_data("kr-jp", "seoul_hospitals", "seoul_hospitals_localdata.csv")
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    header, *rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp949"))))
    col = {name: i for i, name in enumerate(header)}
    to_wgs84 = Transformer.from_crs(5174, 4326, always_xy=True)
    lat, lon = [], []
    for r in rows:
        x, y = r[col["좌표정보(X)"]].strip(), r[col["좌표정보(Y)"]].strip()
        plon, plat = to_wgs84.transform(float(x), float(y)) if x and y else (math.nan, math.nan)
        lat.append(plat)
        lon.append(plon)
    n = len(rows)
    names = [r[col["사업장명"]] for r in rows]
    keys = [normalise_name(x) for x in names]
    phones = [duplicates.normalise_phone(r[col["전화번호"]]) for r in rows]
    licences = [r[col["관리번호"]] for r in rows]
    cols = duplicates.Columns(
        np.arange(1, n + 1, dtype=np.int64), names, keys, np.array(lat), np.array(lon), phones,
        [None] * n, licences, [None] * n, np.ones(n, bool))
    found = duplicates.scan(cols)
    got = set(zip(found.a_ids.tolist(), found.b_ids.tolist(), strict=True))
    shared = {p for p in phones if p and phones.count(p) <= duplicates.MAX_IDENTIFIER_GROUP}
    expected = set()
    for i, j in itertools.combinations(range(n), 2):
        if phones[i] and phones[i] == phones[j] and phones[i] in shared:
            expected.add((i + 1, j + 1))
        elif not (math.isnan(lat[i]) or math.isnan(lat[j])) and haversine_m(
                lat[i], lon[i], lat[j], lon[j]) <= duplicates.MAX_DISTANCE_M and \
                name_similarity(keys[i], keys[j]) >= duplicates.MIN_NAME_SIMILARITY:
            expected.add((i + 1, j + 1))
    assert len(expected) > 100 and expected <= got
    assert {(names[a - 1], names[b - 1]) for a, b in got} & {("세정한방병원", "세정병원"),
                                                             ("세정병원", "세정한방병원")}
    unpinned = {(a, b) for a, b in got - expected
                if math.isnan(lat[a - 1]) or math.isnan(lat[b - 1])}
    assert got - expected == unpinned  # the rest: a name without a pin, 95 % alike


def test_name_similarities_match_name_similarity():
    """The batch scorer gives name_similarity's values for every pair, any script."""
    keys = [normalise_name(x) for x in (
        "Kahvila Aalto", "Kahvla Alto", "Aalto Kahvila", "서울식당", "서울 식당", "김밥천국",
        "ラーメン 一蘭", "ラーメン一蘭", "Family Dollar 8406", "Family Dollar 8407", "", "a",
        "Family Dollar", "Café Regatta", "cafe regatta 2")]
    a, b = np.array(list(itertools.product(range(len(keys)), repeat=2))).T
    got = name_similarities(keys, a, b)
    assert got.tolist() == [name_similarity(keys[i], keys[j]) for i, j in zip(a, b, strict=True)]


def test_scope_manager_and_rep_see_only_their_accounts_pairs(app, world):
    """A manager sees pairs within their territories (and unassigned accounts); a pair
    half in another manager's territory is shown to neither; a rep sees only theirs."""
    other = make_user("north@example.com", Role.MANAGER, PASSWORD)
    north = make_territory("North", shapely.box(24.90, 60.20, 25.00, 60.25),
                           manager_id=other.id)
    west_a = make_account("Leipomo Helmi", 60.17, 24.92, territory_id=world.west.id)
    west_b = make_account("Leipomo Helmi Oy", 60.1701, 24.9201, territory_id=world.west.id)
    north_a = make_account("Parturi Kallio", 60.2001, 24.93, territory_id=north.id)
    north_b = make_account("Parturi Kallio", 60.2002, 24.93, territory_id=north.id)
    cross = make_account("Leipomo Helmi", 60.1702, 24.9202, territory_id=north.id)
    db.session.commit()
    assert _pairs(world.manager) == {(west_a.id, west_b.id)}
    assert _pairs(other) == {(north_a.id, north_b.id)}
    assert (west_a.id, cross.id) in _pairs(world.admin)
    assert _pairs(world.rep_west) == {(west_a.id, west_b.id)}
    assert _pairs(world.rep_east) == set()
    assert _pairs(world.manager, territory_id=north.id) == set()


def _walk(client, **query):
    """Every page of the list: the pairs on each, and the total the page states."""
    seen, totals, page = [], set(), 1
    while True:
        html = client.get("/crm/duplicates", query_string={**query, "page": page}).get_data(
            as_text=True)
        seen.append(re.findall(r'data-pair="(\d+-\d+)"', html))
        totals.update(re.findall(r'data-total="(\d+)"', html))
        if 'rel="next"' not in html:
            return seen, totals
        page += 1


def _seed_pairs(world, count):
    out = set()
    for k in range(count):
        lat, lon = 60.155 + 0.0015 * (k // 10), 24.905 + 0.004 * (k % 10)
        a = make_account(f"Kukka Kauppa {k}", lat, lon, territory_id=world.west.id)
        b = make_account(f"Kukka Kauppa {k}", lat + 0.0001, lon, territory_id=world.west.id)
        out.add(f"{a.id}-{b.id}")
    db.session.commit()
    return out


@pytest.mark.parametrize("background", [False, True])
def test_paging_shows_every_pair_exactly_once(app, client, auth, world, monkeypatch,
                                              background):
    """45 pairs, 7 a page: each pair on exactly one page, in one order, with the total;
    the same whether scanned on each view or read from a background scan's result."""
    monkeypatch.setattr(duplicates, "PER_PAGE", 7)
    app.config["GEOCRM_DUPLICATE_JOB_ACCOUNTS"] = 0 if background else 10**6
    want = _seed_pairs(world, 45)
    auth.login("manager@example.com")
    if background:
        assert 'id="scan-start"' in client.get("/crm/duplicates").get_data(as_text=True)
        assert client.post("/crm/duplicates/scan").status_code == 302
        drain(app, timeout=60)
    pages, totals = _walk(client)
    flat = [p for page in pages for p in page]
    assert len(pages) == 7 and all(len(p) == 7 for p in pages[:-1]) and len(pages[-1]) == 3
    assert len(flat) == len(set(flat)) == 45 and set(flat) == want
    assert totals == {"45"}
    again, _ = _walk(client)
    assert again == pages  # a stable order


def test_background_scan_is_stored_paged_and_rechecked(app, client, auth, world, monkeypatch):
    """Past the threshold the page starts a job; its stored pairs are paged without
    scanning again; a merged, moved or dismissed pair keeps its place with its status,
    names the user may no longer see are not shown; a new search replaces the old result."""
    app.config["GEOCRM_DUPLICATE_JOB_ACCOUNTS"] = 0
    pairs = sorted(_seed_pairs(world, 3), key=lambda p: [int(x) for x in p.split("-")])
    auth.login("manager@example.com")
    assert client.post("/crm/duplicates/scan").status_code == 302
    job = db.session.scalar(select(Job).where(Job.kind == duplicates.JOB_KIND))
    assert job.created_by_id == world.manager.id
    drain(app, timeout=60)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.DONE

    def no_scan(*args, **kwargs):
        raise AssertionError("paging must read the stored result")

    monkeypatch.setattr(duplicates, "scan", no_scan)
    html = client.get("/crm/duplicates").get_data(as_text=True)
    assert 'data-status="done"' in html and re.findall(r'data-pair="(\d+-\d+)"', html) == pairs
    merged, moved, dismissed = ([int(x) for x in p.split("-")] for p in pairs)
    duplicates.merge_accounts(world.manager, merged[0], merged[1], {})
    secret = db.session.get(Account, moved[1])
    secret.name = "Secret New Name"
    other = make_user("north@example.com", Role.MANAGER, PASSWORD)
    secret.territory_id = make_territory("North", shapely.box(0, 0, 1, 1),
                                         manager_id=other.id).id
    db.session.commit()
    assert client.post("/crm/duplicates/dismiss", data={
        "a": dismissed[0], "b": dismissed[1]}).status_code == 302
    html = client.get("/crm/duplicates").get_data(as_text=True)
    rows = re.findall(r'data-pair="(\d+-\d+)" data-status="(\w+)"', html)
    assert [p for p, _ in rows] == pairs  # same places
    assert {p: s for p, s in rows} == {pairs[0]: "gone", pairs[1]: "gone",
                                       pairs[2]: "dismissed"}
    assert "Secret New Name" not in html
    # Searching again drops the old stored pairs; a failed search says so on the page.
    assert client.post("/crm/duplicates/scan").status_code == 302
    drain(app, timeout=60)
    db.session.expire_all()
    assert db.session.get(Job, job.id).result is None
    html = client.get("/crm/duplicates").get_data(as_text=True)
    assert 'data-status="failed"' in html and "paging must read the stored result" in html
    # Another manager has no scan of their own, and never sees this one's.
    auth.logout()
    auth.login("north@example.com")
    html = client.get("/crm/duplicates").get_data(as_text=True)
    assert 'data-status="none"' in html and "data-pair" not in html


def test_background_scan_shows_progress_while_running(app, client, auth, world):
    """A queued or running scan shows its progress and refreshes itself."""
    app.config["GEOCRM_DUPLICATE_JOB_ACCOUNTS"] = 0
    db.session.add(Job(kind=duplicates.JOB_KIND, func=duplicates.JOB_FUNC,
                       kwargs={"user_id": world.manager.id, "territory_id": None},
                       backend="rq", status=JobStatus.RUNNING, progress=0.4,
                       message="comparing names in neighbouring cells",
                       created_by_id=world.manager.id))
    db.session.commit()
    auth.login("manager@example.com")
    html = client.get("/crm/duplicates").get_data(as_text=True)
    assert 'http-equiv="refresh"' in html and 'id="scan-progress">40<' in html
    assert "comparing names in neighbouring cells" in html and "scan-start" not in html
