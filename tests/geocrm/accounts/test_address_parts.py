"""Structured addresses and the Japanese reading through every door, on both engines: the
form (inputs in the country's order), Account 360 and the list (display in that order), the
API and the sync (accept and return the parts), the import (columns mapped, a one-line
Korean or Japanese address split) and the list's order and search (the reading)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from geocrm.core.names import normalise_address
from geocrm.extensions import db
from geocrm.imports.reading import guess_mapping
from geocrm.imports.services import import_accounts
from geocrm.models import Account, utcnow
from tests.factories import make_account
from tests.shared_data import shared_data

SEOUL = shared_data("kr-jp", "seoul_hospitals", "seoul_hospitals_localdata.csv")
SABAE = shared_data("kr-jp", "sabae_fire_hydrants", "sabae_fire_hydrants.csv")


def _account(account_id: int) -> Account:
    db.session.expire_all()
    return db.session.get(Account, account_id)


def _input_ids(html: str) -> list[str]:
    """The address parts' inputs in the order the form shows them."""
    return re.findall(r'data-part="(\w+)"', html)


def test_the_api_takes_korean_parts_and_makes_the_line_and_key(client, auth, world):
    a = world.west_accounts[1]
    auth.login("manager@example.com")
    r = client.patch(f"/api/v1/accounts/{a.id}", json={
        "country": "KR", "postcode": "04524", "region": "서울특별시", "city": "중구",
        "district": "태평로1가", "street": "세종대로", "housenumber": "110",
        "building": "서울특별시청 3층"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    line = "서울특별시 중구 세종대로 110, 서울특별시청 3층 (태평로1가)"
    assert body["address"] == line
    assert (body["country"], body["street"], body["housenumber"], body["building"]) == (
        "KR", "세종대로", "110", "서울특별시청 3층")
    assert body["address_lines"] == ["서울특별시 중구 세종대로 110", "서울특별시청 3층 (태평로1가)",
                                     "04524"]
    stored = _account(a.id)
    assert stored.address == line and stored.address_key == normalise_address(line)
    # GET returns the same parts
    got = client.get(f"/api/v1/accounts/{a.id}").get_json()
    assert got["region"] == "서울특별시" and got["district"] == "태평로1가"


def test_a_one_line_japanese_address_is_split_and_kept_as_typed(client, auth, world):
    a = world.west_accounts[1]
    auth.login("manager@example.com")
    typed = "〒100-0005 東京都千代田区丸の内１丁目１番１号 パレスビル５階"
    r = client.patch(f"/api/v1/accounts/{a.id}", json={"address": typed})
    assert r.status_code == 200, r.get_json()
    stored = _account(a.id)
    assert stored.address == typed  # the person's line stays
    assert (stored.country, stored.postcode, stored.region, stored.city, stored.district,
            stored.housenumber, stored.building) == (
        "JP", "100-0005", "東京都", "千代田区", "丸の内", "1丁目1番1号", "パレスビル5階")
    # Changing one part remakes the line in the Japanese order.
    client.patch(f"/api/v1/accounts/{a.id}", json={"building": "パレスビル 6階"})
    assert _account(a.id).address == "東京都千代田区丸の内1丁目1番1号 パレスビル 6階"
    # A line that cannot be split leaves no parts that would contradict it.
    client.patch(f"/api/v1/accounts/{a.id}", json={"address": "駅前の角"})
    stored = _account(a.id)
    assert stored.address == "駅前の角"
    assert (stored.region, stored.district, stored.street, stored.housenumber,
            stored.building) == (None, None, None, None, None)


def test_a_legacy_line_stays_when_only_the_city_changes(client, auth, world):
    a = world.west_accounts[0]  # "Mannerheimintie 1", no parts
    auth.login("manager@example.com")
    assert client.patch(f"/api/v1/accounts/{a.id}", json={"city": "Espoo"}).status_code == 200
    stored = _account(a.id)
    assert stored.address == "Mannerheimintie 1" and stored.street is None
    assert stored.city == "Espoo"


def test_bad_parts_are_named(client, auth, world):
    a = world.west_accounts[0]
    auth.login("manager@example.com")
    r = client.patch(f"/api/v1/accounts/{a.id}", json={"housenumber": "1" * 61})
    assert r.status_code == 422 and "housenumber" in r.get_data(as_text=True)
    r = client.patch(f"/api/v1/accounts/{a.id}", json={"country": "Atlantis"})
    assert r.status_code == 422 and "country" in r.get_data(as_text=True)
    assert _account(a.id).address == "Mannerheimintie 1"  # nothing half-written


def test_the_form_orders_inputs_by_country_and_saves_parts(client, auth, world):
    a = make_account("서울상사", 60.16, 24.91, territory_id=world.west.id, country="KR")
    db.session.commit()
    auth.login("manager@example.com")
    page = client.get(f"/accounts/{a.id}/edit").get_data(as_text=True)
    assert _input_ids(page) == ["postcode", "region", "city", "district", "street",
                                "housenumber", "building"]
    assert 'data-part="street"' in page and 'id="country"' in page
    form = {f: "" for f in ("name", "name_reading", "address", "country", "postcode", "region",
                            "city", "district", "street", "housenumber", "building", "phone",
                            "email", "website", "opening_hours", "visit_minutes",
                            "cadence_days", "priority", "value", "lat", "lon")}
    form.update(name="서울상사", country="KR", region="서울특별시", city="중구",
                street="세종대로", housenumber="110", stage="lead", lat="60.16", lon="24.91")
    r = client.post(f"/accounts/{a.id}/edit", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert _account(a.id).address == "서울특별시 중구 세종대로 110"
    # Japanese account: 〒 first, 番地 before 建物名
    b = make_account("山田商店", 60.16, 24.91, territory_id=world.west.id, country="JP")
    db.session.commit()
    page = client.get(f"/accounts/{b.id}/edit", headers={"Accept-Language": "ja"}).get_data(
        as_text=True)
    ids = _input_ids(page)
    assert ids[:4] == ["postcode", "region", "city", "district"]
    assert ids.index("housenumber") < ids.index("building")
    assert "都道府県" in page and "建物名・部屋番号" in page
    # Finland: street and number first
    c = world.west_accounts[0]
    page = client.get(f"/accounts/{c.id}/edit").get_data(as_text=True)
    assert _input_ids(page)[:2] == ["street", "housenumber"]


def test_account_360_and_the_list_show_the_country_order(client, auth, world):
    a = make_account("山田商店", 60.16, 24.91, territory_id=world.west.id, country="JP",
                     postcode="100-0005", region="東京都", city="千代田区", district="丸の内",
                     housenumber="1-1-1", building="パレスビル 5階",
                     name_reading="ヤマダショウテン",
                     address="東京都千代田区丸の内1-1-1 パレスビル 5階")
    db.session.commit()
    auth.login("manager@example.com")
    page = client.get(f"/accounts/{a.id}", headers={"Accept-Language": "ja"}).get_data(
        as_text=True)
    lines = re.findall(r'<span class="address-line">([^<]*)</span>', page)
    assert lines == ["〒100-0005", "東京都千代田区丸の内1-1-1", "パレスビル 5階"]
    assert "ヤマダショウテン" in page
    listing = client.get("/accounts/?q=ヤマダ").get_data(as_text=True)
    assert "〒100-0005 東京都千代田区丸の内1-1-1 パレスビル 5階" in listing
    # A legacy Finnish row shows as before: the line, then postcode and city.
    legacy = make_account("Legacy Oy", 60.16, 24.91, territory_id=world.west.id,
                          address="Aleksanterinkatu 5", postcode="00100", city="Helsinki")
    db.session.commit()
    page = client.get(f"/accounts/{legacy.id}").get_data(as_text=True)
    assert re.findall(r'<span class="address-line">([^<]*)</span>', page) == [
        "Aleksanterinkatu 5", "00100 Helsinki"]


def test_lists_sort_by_reading_and_search_folds_kana_and_width(client, auth, world):
    auth.login("manager@example.com")
    ids = {}
    # Kanji names whose code-point order is not their kana order.
    for name, reading in (("渡辺商店", "わたなべしょうてん"),
                          ("株式会社 青木", "カブシキガイシャ アオキ"),
                          ("山田商店", "ﾔﾏﾀﾞ ｼｮｳﾃﾝ"), ("伊藤工務店", "イトウコウムテン")):
        a = make_account(name, 60.16, 24.91, territory_id=world.west.id)
        db.session.commit()
        r = client.patch(f"/api/v1/accounts/{a.id}", json={"name_reading": reading})
        assert r.status_code == 200, r.get_json()
        ids[name] = a.id
    items: dict = {"items": []}
    cursor = ""
    while cursor is not None:  # two at a time: the cursor walks the reading order too
        page = client.get(f"/api/v1/accounts?territory={world.west.id}&sort=name&limit=2"
                          + (f"&cursor={cursor}" if cursor else "")).get_json()
        items["items"] += page["items"]
        cursor = page.get("next_cursor")
    names = [i["name"] for i in items["items"] if i["id"] in ids.values()]
    # アオキ < イトウ < ヤマダ < ワタナベ (the legal form is not sorted on)
    assert names == ["株式会社 青木", "伊藤工務店", "山田商店", "渡辺商店"]
    for q, expected in (("やまだ", "山田商店"), ("ヤマダ", "山田商店"), ("ﾔﾏﾀﾞ", "山田商店"),
                        ("わたなべ", "渡辺商店"), ("ワタナベ ショウテン", "渡辺商店"),
                        ("あおき", "株式会社 青木"), ("いとうこうむてん", "伊藤工務店")):
        got = client.get(f"/api/v1/accounts?q={q}").get_json()["items"]
        assert [i["name"] for i in got] == [expected], q
    page = client.get("/accounts/?q=やまだ").get_data(as_text=True)
    assert "山田商店" in page and "渡辺商店" not in page


def test_kana_search_also_finds_a_katakana_name(client, auth, world):
    make_account("ラーメン一蘭", 60.16, 24.91, territory_id=world.west.id)
    db.session.commit()
    auth.login("manager@example.com")
    got = client.get("/api/v1/accounts?q=らーめん").get_json()["items"]
    assert [i["name"] for i in got] == ["ラーメン一蘭"]


def test_sync_edits_parts_offline(client, auth, world):
    a = world.west_accounts[0]
    auth.login("west@example.com")
    op = {"id": str(uuid.uuid4()), "op": "account_edit", "data": {
        "account_id": a.id, "seen_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        "edited_at": utcnow().isoformat(),
        "changes": {"street": "Mannerheimintie", "housenumber": "3", "building": "A 4"}}}
    res = client.post("/api/v1/sync", json={"ops": [op]}).get_json()["results"][0]
    assert res["ok"], res
    assert res["result"]["applied"] == ["building", "housenumber", "street"]
    stored = _account(a.id)
    assert stored.address == "Mannerheimintie 3, A 4"
    assert stored.address_key == normalise_address("Mannerheimintie 3, A 4")
    # The phone's copy (the field bundle / account JSON) carries the parts.
    body = client.get(f"/api/v1/accounts/{a.id}").get_json()
    assert (body["street"], body["housenumber"], body["building"]) == (
        "Mannerheimintie", "3", "A 4")


def test_import_maps_korean_and_japanese_part_columns(app, world):
    """Header names of Korean and Japanese registers map to the parts; parts without a line
    make the line; the reading (フリガナ) is kept and keyed."""
    kr = ("상호,시도,시군구,읍면동,도로명,건물번호,건물명,우편번호,위도,경도\n"
          "세종상사,서울특별시,중구,태평로1가,세종대로,110,시청 3층,04524,37.5663,126.9779\n")
    jp = ("店名,フリガナ,郵便番号,都道府県,市区町村,町域,番地,建物名,緯度,経度\n"
          "山田商店,ヤマダショウテン,100-0005,東京都,千代田区,丸の内,1-1-1,パレスビル 5階,"
          "35.68,139.76\n")
    assert guess_mapping(kr.splitlines()[0].split(",")) == {
        "name": "상호", "region": "시도", "city": "시군구", "district": "읍면동",
        "street": "도로명", "housenumber": "건물번호", "building": "건물명",
        "postcode": "우편번호", "lat": "위도", "lon": "경도"}
    assert guess_mapping(jp.splitlines()[0].split(","))["name_reading"] == "フリガナ"
    for data in (kr, jp):
        result = import_accounts(data.encode(), filename="parts.csv")
        assert result.status == "committed", result.rejects
    db.session.expire_all()
    seoul = db.session.scalars(select(Account).where(Account.name == "세종상사")).one()
    assert seoul.address == "서울특별시 중구 세종대로 110, 시청 3층 (태평로1가)"
    assert seoul.address_key == normalise_address(seoul.address)
    tokyo = db.session.scalars(select(Account).where(Account.name == "山田商店")).one()
    assert tokyo.address == "東京都千代田区丸の内1-1-1 パレスビル 5階"
    assert (tokyo.name_reading, tokyo.reading_key) == ("ヤマダショウテン", "ヤマダショウテン")
    # A re-import with a changed part updates it (the source owns the field) and the line.
    jp2 = jp.replace("パレスビル 5階", "パレスビル 6階")
    import_accounts(jp2.encode(), filename="parts.csv")
    db.session.expire_all()
    tokyo = db.session.scalars(select(Account).where(Account.name == "山田商店")).one()
    assert tokyo.building == "パレスビル 6階"


@pytest.mark.skipif(not SEOUL.exists(), reason="shared data absent")
def test_the_real_seoul_register_imports_with_its_parts(app):
    data = SEOUL.read_bytes()
    mapping = {"external_id": "관리번호", "name": "사업장명", "address": "도로명주소",
               "postcode": "도로명우편번호", "phone": "전화번호", "x": "좌표정보(X)",
               "y": "좌표정보(Y)"}
    result = import_accounts(data, filename=SEOUL.name, mapping=mapping, crs="EPSG:5174",
                             source="localdata")
    assert result.status == "committed", result.rejects[:5]
    db.session.expire_all()
    a = db.session.scalars(select(Account).where(
        Account.external_id == "PHMA220093220033021200007")).one()
    # The register's line is kept; its parts are filled from it.
    assert a.address == "서울특별시 강남구 역삼로 245, 지하2층일부 1층일부 2~7층 (역삼동)"
    assert (a.country, a.postcode, a.region, a.city, a.district, a.street, a.housenumber,
            a.building) == ("KR", "06225", "서울특별시", "강남구", "역삼동", "역삼로", "245",
                            "지하2층일부 1층일부 2~7층")
    with_road = db.session.scalars(select(Account).where(Account.address.is_not(None))).all()
    assert len(with_road) == 805
    assert all(x.street and x.housenumber and x.city and x.country == "KR" for x in with_road)


@pytest.mark.skipif(not SABAE.exists(), reason="shared data absent")
def test_sabae_lines_get_their_prefecture_and_city_from_their_columns(app):
    """Sabae's 住所 lacks the prefecture and city, which the file gives in 都道府県名 and
    市区町村名: the parts are filled and the line is made whole."""
    data = SABAE.read_bytes()
    mapping = {"name": "消火栓名", "address": "住所", "region": "都道府県名",
               "city": "市区町村名", "lat": "緯度", "lon": "経度"}
    result = import_accounts(data, filename=SABAE.name, mapping=mapping, dry_run=True)
    assert result.status != "rejected", result.rejects[:5]
    result = import_accounts(data, filename=SABAE.name, mapping=mapping)
    assert result.status == "committed", result.rejects[:5]
    db.session.expire_all()
    first = db.session.scalars(select(Account).where(
        Account.address.like("%小黒町1丁目9-27"))).first()
    assert first is not None
    assert first.address == "福井県鯖江市小黒町1丁目9-27"
    assert (first.country, first.region, first.city, first.district, first.housenumber) == (
        "JP", "福井県", "鯖江市", "小黒町", "1丁目9-27")


def test_a_merge_takes_the_line_and_its_parts_together_and_the_reading_with_the_name(app, world):
    from geocrm.crm import duplicates

    survivor = make_account("山田商店", 60.16, 24.91, territory_id=world.west.id,
                            address="東京都千代田区", country="JP")
    merged = make_account("山田商店 本店", 60.16, 24.91, territory_id=world.west.id,
                          country="JP", name_reading="やまだしょうてん ほんてん",
                          postcode="100-0005", region="東京都", city="千代田区",
                          district="丸の内", housenumber="1-1-1", building="パレスビル 5階",
                          address="東京都千代田区丸の内1-1-1 パレスビル 5階")
    db.session.commit()
    duplicates.merge_accounts(world.manager, survivor.id, merged.id,
                              {"address": "merged", "name": "merged"})
    db.session.commit()
    a = _account(survivor.id)
    assert (a.address, a.district, a.housenumber, a.building) == (
        "東京都千代田区丸の内1-1-1 パレスビル 5階", "丸の内", "1-1-1", "パレスビル 5階")
    assert a.address_key == normalise_address(a.address)
    assert (a.name, a.name_reading, a.reading_key) == (
        "山田商店 本店", "やまだしょうてん ほんてん", "ヤマダショウテンホンテン")


def test_a_rep_adds_a_korean_account_on_the_road_with_its_parts(client, auth, world):
    """The phone's "add account here" (online or from the outbox) splits a typed road-name
    address and keeps a reading."""
    auth.login("west@example.com")
    r = client.post("/api/v1/accounts", json={
        "uuid": str(uuid.uuid4()), "name": "세종상사", "lat": 60.17, "lon": 24.92,
        "address": "서울특별시 중구 세종대로 110, 3층 (태평로1가)"})
    assert r.status_code in (200, 201), r.get_json()
    a = db.session.scalars(select(Account).where(Account.name == "세종상사")).one()
    assert (a.country, a.region, a.city, a.district, a.street, a.housenumber, a.building) == (
        "KR", "서울특별시", "중구", "태평로1가", "세종대로", "110", "3층")
    r = client.post("/api/v1/accounts", json={
        "uuid": str(uuid.uuid4()), "name": "山田商店", "name_reading": "ヤマダショウテン",
        "lat": 60.17, "lon": 24.92, "country": "JP", "region": "東京都", "city": "千代田区",
        "district": "丸の内", "housenumber": "1-1-1"})
    assert r.status_code in (200, 201), r.get_json()
    b = db.session.scalars(select(Account).where(Account.name == "山田商店")).one()
    assert (b.address, b.reading_key) == ("東京都千代田区丸の内1-1-1", "ヤマダショウテン")
