"""One name rule in every script: keys, similarity, the duplicate finder, the import, search."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from geocrm.accounts.services import AccountFilters, list_accounts
from geocrm.core.names import (
    SIMILAR,
    name_similarity,
    normalise_address,
    normalise_name,
    similar_names,
)
from geocrm.crm import duplicates
from geocrm.extensions import db
from geocrm.imports.services import import_accounts
from geocrm.models import Account
from tests.factories import make_account


@pytest.mark.parametrize(("name", "key"), [
    ("김밥천국", "김밥천국"),
    ("ラーメン 一蘭", "ラーメン 一蘭"),
    ("ﾗｰﾒﾝ　一蘭", "ラーメン 一蘭"),  # half-width katakana and an ideographic space
    ("ＡＢＣ　Ｍａｒｔ", "abc mart"),  # full-width Latin
    ("㈜서울식당", "서울식당"),
    ("(주) 서울식당", "서울식당"),
    ("서울식당 주식회사", "서울식당"),
    ("株式会社一蘭", "一蘭"),
    ("一蘭㈱", "一蘭"),
    ("有限会社 山田商店", "山田商店"),
    ("Ølhus Oy", "ølhus"),
    ("ØLHUS AB", "ølhus"),
    ("Straße Café GmbH & Co. KG", "strasse cafe"),
    ("Acme, Inc.", "acme"),
    ("Acme LLC", "acme"),
    ("Acme Ltd.", "acme"),
    ("Москва", "москва"),
    ("ガーデン", "ガーデン"),  # the dakuten stays: ガ is not カ
    ("Company", "company"),  # nothing but a legal form keeps it, not ""
    ("주식회사", "주식회사"),
    ("", ""),
])
def test_keys_keep_every_script_and_drop_legal_forms(name, key):
    """NFKC, case folding, width folding, legal forms gone, no script reduced to nothing."""
    assert normalise_name(name) == key


def test_address_keys():
    """Addresses fold the same way, with common street words shortened."""
    assert normalise_address("Mannerheimintie 10") == "mannerheimintie 10"
    assert normalise_address("1 North Main Street") == "1 n main st"
    assert normalise_address("서울특별시 중구 세종대로 110") == "서울특별시 중구 세종대로 110"
    assert normalise_address("Haupt Straße 5") == normalise_address("Haupt Strasse 5") == (
        "haupt str 5")
    assert normalise_address("Kungs vägen 2") == "kungs v 2"
    assert normalise_address(None) is None


def test_similarity():
    """Different businesses are not alike in any script; spacing and word order do not matter."""
    assert name_similarity(normalise_name("김밥천국"), normalise_name("ラーメン 一蘭")) == 0.0
    assert not similar_names(normalise_name("김밥천국"), normalise_name("ラーメン 一蘭"))
    assert similar_names(normalise_name("ラーメン 一蘭"), normalise_name("ラーメン一蘭"))
    assert similar_names(normalise_name("Itä Bakery"), normalise_name("Bakery Itä Oy"))
    assert similar_names(normalise_name("Cafe"), normalise_name("Cafe Regatta"))
    assert not similar_names("family dollar 8406", "family dollar 8407")
    assert not similar_names("a", "abc")


def _similar_by_definition(a: str, b: str) -> bool:
    """similar_names as its docstring defines it, written plainly (the import's fast form
    must give the same verdict for every pair)."""
    if not a or not b:
        return False
    if name_similarity(a, b) >= SIMILAR:
        return True
    na = {w for w in a.split() if w.isdigit()}
    nb = {w for w in b.split() if w.isdigit()}
    if na and nb and na != nb:
        return False
    short, long = sorted((a, b), key=len)
    if f" {short} " in f" {long} ":
        return True
    wa, wb = set(a.split()), set(b.split())
    if len(wa & wb) / len(wa | wb) >= 0.5:
        return True
    return len(short) >= 2 and not short.isascii() and short.replace(" ", "") in long.replace(
        " ", "")


_NAME_WORDS = ["cafe", "kahvila", "itä", "bakery", "12", "7", "서울", "식당", "김밥", "천국",
               "ラーメン", "一蘭", "本店", "a", "ab", "mart", "marts", "ølhus", "сад"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_NAME_WORDS), min_size=1, max_size=4),
       st.lists(st.sampled_from(_NAME_WORDS), min_size=1, max_size=4),
       st.booleans(), st.text(max_size=6))
def test_similar_names_gives_the_verdict_of_its_definition(a, b, joined, noise):
    """Words shared, reordered, run together, a store number, a typo: same verdict."""
    left = normalise_name(("" if joined else " ").join(a)) or ""
    right = normalise_name(" ".join(b) + noise) or ""
    for x, y in ((left, right), (right, left), (left, left + noise), (left, left[1:])):
        assert similar_names(x, y) == _similar_by_definition(x, y), (x, y)


def test_finder_pairs_two_seoul_restaurants_4_m_apart_not_two_cjk_neighbours(app, world):
    """Regression: CJK names all had the key "", so the finder paired none of them by name."""
    a = make_account("서울식당", 37.56650, 126.97800)
    b = make_account("서울식당", 37.56653, 126.97801)  # about 4 m north
    c = make_account("김밥천국", 37.57000, 126.98000)
    d = make_account("ラーメン 一蘭", 37.57000, 126.98000)
    db.session.commit()
    pairs = {(x.a_id, x.b_id): x for x in duplicates.find_duplicates(world.admin)}
    assert (a.id, b.id) in pairs and pairs[(a.id, b.id)].name_similarity == 1.0
    assert (c.id, d.id) not in pairs


def test_import_keeps_two_cjk_businesses_at_one_address(app, world):
    """Regression: 김밥천국 and ラーメン 一蘭, different ids, one spot: both are imported."""
    data = ("External ID,Company,Address,Latitude,Longitude\n"
            "K1,김밥천국,세종대로 110,37.5700,126.9800\n"
            "J1,ラーメン 一蘭,세종대로 110,37.5700,126.9800\n").encode()
    result = import_accounts(data, filename="cjk.csv", user=world.manager)
    assert result.status == "committed", result.rejects
    names = set(db.session.scalars(select(Account.name).where(
        Account.external_id.in_(["K1", "J1"]))))
    assert names == {"김밥천국", "ラーメン 一蘭"}


@pytest.mark.parametrize(("query", "expected"), [
    ("Ølhus", {"Ølhus Bar", "ØLHUS Kallio"}),
    ("ølhus", {"Ølhus Bar", "ØLHUS Kallio"}),
    ("МОСКВА", {"Кафе Москва"}),
    ("cafe", {"Café Regatta"}),
    ("ＡＢＣ", {"ABC Mart"}),
    ("ｶﾞｰﾃﾞﾝ", {"ガーデン 渋谷"}),
    ("서울", {"서울식당"}),
])
def test_search_is_case_insensitive_in_every_script(app, world, query, expected):
    """Regression: on SQLite lower() is ASCII-only, so "Ølhus" found neither Ølhus account."""
    for name in ("Ølhus Bar", "ØLHUS Kallio", "Кафе Москва", "Café Regatta", "ABC Mart",
                 "ガーデン 渋谷", "서울식당"):
        make_account(name, 60.17, 24.94)
    db.session.commit()
    found, _ = list_accounts(world.admin, AccountFilters(q=query), per_page=100)
    assert {a.name for a in found} - {a.name for a in world.west_accounts + world.east_accounts
                                      } == expected
