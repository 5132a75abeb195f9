"""Addresses per country (geocrm.core.addresses): display and input order, and splitting
Korean road-name / lot addresses and Japanese block addresses into parts."""

from __future__ import annotations

import csv
import io

import pytest

from geocrm.core.addresses import (
    Address,
    address_line,
    country_code,
    format_lines,
    format_one_line,
    guess_country,
    input_order,
    parse_address,
)
from tests.shared_data import shared_data

SEOUL = shared_data("kr-jp", "seoul_hospitals", "seoul_hospitals_localdata.csv")

KR_CASES = [
    ("서울특별시 중구 세종대로 110", "road",
     {"region": "서울특별시", "city": "중구", "street": "세종대로", "housenumber": "110"}),
    ("서울특별시 강남구 역삼로12번길 3", "road",
     {"region": "서울특별시", "city": "강남구", "street": "역삼로12번길", "housenumber": "3"}),
    # the road's 번길 written apart, the short region name
    ("서울 강남구 역삼로 12번길 3", "road",
     {"region": "서울특별시", "city": "강남구", "street": "역삼로12번길", "housenumber": "3"}),
    # 상세주소 after the comma, the 동 in parentheses (a LOCALDATA row)
    ("서울특별시 강남구 역삼로 245, 지하2층일부 1층일부 2~7층 (역삼동)", "road",
     {"region": "서울특별시", "city": "강남구", "district": "역삼동", "street": "역삼로",
      "housenumber": "245", "building": "지하2층일부 1층일부 2~7층"}),
    ("경기도 성남시 분당구 판교역로 235 (삼평동, 에이치스퀘어)", "road",
     {"region": "경기도", "city": "성남시 분당구", "district": "삼평동", "street": "판교역로",
      "housenumber": "235", "building": "에이치스퀘어"}),
    ("경기도 양평군 양평읍 양평시장길 5", "road",
     {"region": "경기도", "city": "양평군", "district": "양평읍", "street": "양평시장길",
      "housenumber": "5"}),
    ("(06225) 서울특별시 강남구 역삼로 245", "road",
     {"postcode": "06225", "region": "서울특별시", "city": "강남구", "street": "역삼로",
      "housenumber": "245"}),
    # lot (지번) addresses
    ("서울특별시 동작구 신대방동 686번지 1호", "lot",
     {"region": "서울특별시", "city": "동작구", "district": "신대방동", "housenumber": "686-1"}),
    ("서울특별시 도봉구 쌍문동 503-8 2~5층", "lot",
     {"region": "서울특별시", "city": "도봉구", "district": "쌍문동", "housenumber": "503-8",
      "building": "2~5층"}),
    ("서울특별시 노원구 공릉3동323-2 공삼빌딩 2,3,4층", "lot",
     {"region": "서울특별시", "city": "노원구", "district": "공릉3동", "housenumber": "323-2",
      "building": "공삼빌딩 2,3,4층"}),
    ("서울특별시 영등포구 영등포동7가 94", "lot",
     {"region": "서울특별시", "city": "영등포구", "district": "영등포동7가", "housenumber": "94"}),
    ("서울특별시 노원구 상계1동산51번지", "lot",
     {"region": "서울특별시", "city": "노원구", "district": "상계1동", "housenumber": "산51"}),
]

JP_CASES = [
    ("〒100-0001 東京都千代田区千代田1丁目1番1号",
     {"postcode": "100-0001", "region": "東京都", "city": "千代田区", "district": "千代田",
      "housenumber": "1丁目1番1号"}),
    ("東京都千代田区丸の内1-1-1 丸の内ビル 101号室",
     {"region": "東京都", "city": "千代田区", "district": "丸の内", "housenumber": "1-1-1",
      "building": "丸の内ビル 101号室"}),
    # full-width digits and hyphens; a designated city's ward stays with its city
    ("神奈川県横浜市中区本町６－５０－１０",
     {"region": "神奈川県", "city": "横浜市中区", "district": "本町", "housenumber": "6-50-10"}),
    # a city whose name holds 市 before its end
    ("三重県四日市市諏訪町1番5号",
     {"region": "三重県", "city": "四日市市", "district": "諏訪町", "housenumber": "1番5号"}),
    ("東京都港区六本木六丁目10番1号 六本木ヒルズ",
     {"region": "東京都", "city": "港区", "district": "六本木", "housenumber": "六丁目10番1号",
      "building": "六本木ヒルズ"}),
    # Hokkaido's 条 belongs to the town's name
    ("北海道札幌市中央区北1条西2丁目",
     {"region": "北海道", "city": "札幌市中央区", "district": "北1条西", "housenumber": "2丁目"}),
    ("愛知県西春日井郡豊山町豊場1-1",
     {"region": "愛知県", "city": "西春日井郡豊山町", "district": "豊場", "housenumber": "1-1"}),
    ("〒９１６−００１１ 小黒町1丁目9-27",
     {"postcode": "916-0011", "district": "小黒町", "housenumber": "1丁目9-27"}),
]


def _set(parts: Address) -> dict[str, str]:
    return {k: v for k, v in parts.as_dict().items() if v}


@pytest.mark.parametrize(("text", "kind", "expected"), KR_CASES)
def test_korean_road_and_lot_addresses_split_into_parts(text, kind, expected):
    parsed = parse_address(text)
    assert parsed is not None and parsed.country == "KR" and parsed.kind == kind
    assert _set(parsed.parts) == expected


@pytest.mark.parametrize(("text", "expected"), JP_CASES)
def test_japanese_block_addresses_split_into_parts(text, expected):
    parsed = parse_address(text)
    assert parsed is not None and parsed.country == "JP" and parsed.kind == "block"
    assert _set(parsed.parts) == expected


def test_a_bare_block_number_is_japanese_only_when_the_caller_says_so():
    assert _set(parse_address("１－１－１", "JP").parts) == {"housenumber": "1-1-1"}
    assert _set(parse_address("1丁目2番3号", "JP").parts) == {"housenumber": "1丁目2番3号"}
    # Without a country, digits say nothing about Japan: read as Latin, no street there.
    assert parse_address("1-1-1") is None


def test_unrecognised_lines_are_none_not_guesses():
    assert parse_address("") is None
    assert parse_address("서울특별시 강남구 어딘가") is None  # no road, no lot
    assert parse_address("PL 123") is not None  # Latin: street "PL", number 123, best effort
    assert parse_address("Helsinki") is None


@pytest.mark.parametrize("text", [t for t, _, _ in KR_CASES if not t.startswith("(")])
def test_a_korean_line_made_from_its_parts_is_the_line(text):
    """Parts → line → parts: the account's one line made from the split is the same address
    (postcode aside, which has its own column), in the road-name convention."""
    parsed = parse_address(text)
    assert parsed is not None
    line = address_line(parsed.parts, "KR")
    again = parse_address(line, "KR")
    assert again is not None and again.parts == parsed.parts


def test_display_order_per_country():
    kr = Address(postcode="04524", region="서울특별시", city="중구", district="태평로1가",
                 street="세종대로", housenumber="110", building="서울특별시청 3층")
    assert format_one_line(kr, "KR") == (
        "(04524) 서울특별시 중구 세종대로 110, 서울특별시청 3층 (태평로1가)")
    assert format_lines(kr, "KR") == [
        "서울특별시 중구 세종대로 110", "서울특별시청 3층 (태평로1가)", "04524"]
    assert address_line(kr, "KR") == "서울특별시 중구 세종대로 110, 서울특별시청 3층 (태평로1가)"
    # 읍/면 go before the road
    rural = Address(region="경기도", city="양평군", district="양평읍", street="양평시장길",
                    housenumber="5")
    assert address_line(rural, "KR") == "경기도 양평군 양평읍 양평시장길 5"
    jp = Address(postcode="100-0005", region="東京都", city="千代田区", district="丸の内",
                 housenumber="1丁目1番1号", building="パレスビル 5階")
    assert format_one_line(jp, "JP") == "〒100-0005 東京都千代田区丸の内1丁目1番1号 パレスビル 5階"
    assert format_lines(jp, "JP") == [
        "〒100-0005", "東京都千代田区丸の内1丁目1番1号", "パレスビル 5階"]
    assert address_line(jp, "JP") == "東京都千代田区丸の内1丁目1番1号 パレスビル 5階"
    fi = Address(postcode="00100", city="Helsinki", street="Mannerheimintie", housenumber="1",
                 building="B 12")
    assert format_one_line(fi, "FI") == "Mannerheimintie 1, B 12, 00100 Helsinki"
    assert format_lines(fi, None) == ["Mannerheimintie 1", "B 12", "00100 Helsinki"]
    # The street line only: postcode and city keep their own columns, as legacy rows have.
    assert address_line(fi, "FI") == "Mannerheimintie 1, B 12"
    us = Address(postcode="20500", region="DC", city="Washington", street="Pennsylvania Ave NW",
                 housenumber="1600")
    assert format_one_line(us, "US") == "1600 Pennsylvania Ave NW, Washington, DC 20500"
    gb = Address(postcode="SW1A 2AA", city="London", street="Downing Street", housenumber="10")
    assert format_one_line(gb, "GB") == "10 Downing Street, London SW1A 2AA"


def test_input_order_per_country():
    assert input_order("KR") == ("postcode", "region", "city", "district", "street",
                                 "housenumber", "building")
    assert input_order("jp")[:4] == ("postcode", "region", "city", "district")
    assert input_order("JP").index("housenumber") < input_order("JP").index("building")
    assert input_order("FI")[:3] == ("street", "housenumber", "building")
    assert input_order("US")[:2] == ("housenumber", "street")
    assert input_order(None) == input_order("FI")
    for country in ("KR", "JP", "US", "GB", "FR", "FI", None):
        assert sorted(input_order(country)) == sorted(Address().as_dict())


def test_country_codes_and_the_script():
    assert [country_code(t) for t in ("kr", "대한민국", "日本", "Japan", "Suomi", " fi ")] == [
        "KR", "KR", "JP", "JP", "FI", "FI"]
    assert country_code("zz") is None and country_code("Atlantis") is None
    assert guess_country("서울특별시 중구") == "KR"
    assert guess_country("東京都千代田区") == "JP"
    assert guess_country("とうきょう") == "JP"
    assert guess_country("北京市朝阳区") is None  # Chinese: neither
    assert guess_country("Mannerheimintie 1") is None


@pytest.mark.skipif(not SEOUL.exists(), reason="shared data absent")
def test_every_road_address_of_the_seoul_register_splits():
    """The real LOCALDATA register: all 805 road-name addresses split into region, city,
    road and number; of the 669 lot addresses (messier: glued numbers, 외 2필지) at least
    97 % split."""
    rows = list(csv.DictReader(io.StringIO(SEOUL.read_bytes().decode("cp949"))))
    road = [r["도로명주소"] for r in rows if r["도로명주소"].strip()]
    assert len(road) == 805
    for text in road:
        parsed = parse_address(text)
        assert parsed is not None and parsed.kind == "road", text
        p = parsed.parts
        assert p.region and p.city and p.street and p.housenumber, text
    lots = [r["지번주소"] for r in rows if r["지번주소"].strip()]
    split = [t for t in lots
             if (p := parse_address(t)) and p.parts.district and p.parts.housenumber]
    assert len(split) >= 0.97 * len(lots), len(split)
