"""Korean road-name and lot addresses and Japanese block addresses on synthetic towns.

The forms follow the official ones: Korea's 도로명주소 (시·도, 시·군·구, 도로명, 건물번호 —
"서울특별시 중구 세종대로 110", sub-roads "중앙로12번길 3" also typed "중앙로 12번길 3") and
지번주소 (법정동 + 지번, "태평로1가 31"); Japan's 住居表示 (都道府県, 市区町村, 町名, 丁目,
番, 号 — "東京都千代田区丸の内1丁目9番1号", "丸の内1-9-1", kanji and full-width digits), tagged
as OpenStreetMap does in each country (tests/places/geocode/osm_towns.py).
"""

from __future__ import annotations

import pytest

from places.geocode import AddressQuery, Confidence, GeocodeResult, RegionGeocoder, read_addresses
from places.geocode.text import number_key, parse_text, street_keys
from places.roads import haversine_m
from tests.places.geocode import osm_towns as towns


@pytest.fixture(scope="module")
def korea(tmp_path_factory: pytest.TempPathFactory) -> RegionGeocoder:
    return RegionGeocoder(read_addresses(
        towns.korean_towns(tmp_path_factory.mktemp("kr") / "kr.osm")), country="KR")


@pytest.fixture(scope="module")
def japan(tmp_path_factory: pytest.TempPathFactory) -> RegionGeocoder:
    return RegionGeocoder(read_addresses(
        towns.japanese_towns(tmp_path_factory.mktemp("jp") / "jp.osm")), country="JP")


def metres(r: GeocodeResult | None, where: tuple[float, float]) -> float:
    assert r is not None
    return float(haversine_m(r.lat, r.lon, where[0], where[1]))


# -- Korea ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "서울특별시 중구 세종대로 110", "세종대로 110", "서울 중구 세종대로 110", "세종대로110",
    "04524 서울특별시 중구 세종대로 110, 3층", "서울특별시 중구 세종대로 110 (태평로1가)",
])
def test_korean_road_name_address(korea: RegionGeocoder, text: str) -> None:
    r = korea.forward(AddressQuery(text=text))
    assert r is not None and r.confidence is Confidence.EXACT, text
    assert metres(r, towns.SEJONG_110) < 1
    assert r.address["street"] == "세종대로" and r.address["housenumber"] == "110"


def test_korean_structured_fields(korea: RegionGeocoder) -> None:
    r = korea.forward(AddressQuery(country="KR", region="서울특별시", district="중구",
                                   street="세종대로", housenumber="110"))
    assert r is not None and r.confidence is Confidence.EXACT
    assert r.label == "서울특별시 세종대로 110"


def test_korean_building_numbers_interpolate(korea: RegionGeocoder) -> None:
    """Building numbers count ten-metre steps along the road: 116 is 60 % from 110 to 120."""
    r = korea.forward(AddressQuery(text="세종대로 116"))
    assert r is not None and r.confidence is Confidence.INTERPOLATED
    lat = towns.SEJONG_110[0] + 0.6 * (towns.SEJONG_120[0] - towns.SEJONG_110[0])
    lon = towns.SEJONG_110[1] + 0.6 * (towns.SEJONG_120[1] - towns.SEJONG_110[1])
    assert metres(r, (lat, lon)) < 2
    # a sub-number (110-1) of a known main number: beside the main building
    r = korea.forward(AddressQuery(text="세종대로 110-1"))
    assert r is not None and r.confidence is Confidence.INTERPOLATED
    assert metres(r, towns.SEJONG_110) < 1


@pytest.mark.parametrize("text,where", [
    ("부산광역시 중구 중앙로 12번길 3", towns.BUSAN_JUNGANG_3),
    ("부산광역시 중구 중앙로12번길 3", towns.BUSAN_JUNGANG_3),
    ("서울특별시 중구 중앙로12번길 3", towns.SEOUL_JUNGANG_3),
    ("서울특별시 중앙로12길 3", towns.SEOUL_JUNGANG_3),  # 번길 typed as 길
])
def test_korean_sub_roads_in_two_cities(korea: RegionGeocoder, text: str,
                                        where: tuple[float, float]) -> None:
    r = korea.forward(AddressQuery(text=text))
    assert r is not None and r.confidence is Confidence.EXACT, text
    assert metres(r, where) < 1


def test_korean_namesake_without_city_is_refused(korea: RegionGeocoder) -> None:
    """중구 and 중앙로12번길 3 exist in Seoul and in Busan: the district alone cannot choose."""
    assert korea.forward(AddressQuery(text="중앙로12번길 3")) is None
    assert korea.forward(AddressQuery(text="중구 중앙로12번길 3")) is None


def test_korean_lot_address(korea: RegionGeocoder) -> None:
    for text in ("서울특별시 중구 태평로1가 31", "태평로1가 31번지", "서울 태평로1가 31"):
        r = korea.forward(AddressQuery(text=text))
        assert r is not None and r.confidence is Confidence.EXACT, text
        assert metres(r, towns.TAEPYEONG_31) < 1


def test_korean_city_contradiction(korea: RegionGeocoder) -> None:
    """세종대로 is in Seoul: asked in Busan, the answer is Busan itself, never the building."""
    r = korea.forward(AddressQuery(text="부산광역시 세종대로 110"))
    assert r is None or r.confidence is Confidence.LOCALITY
    r = korea.forward(AddressQuery(street="세종대로", housenumber="110", city="부산광역시"))
    assert r is not None and r.confidence is Confidence.LOCALITY and r.label == "부산광역시"


def test_korean_reverse(korea: RegionGeocoder) -> None:
    lat, lon = towns.SEJONG_110
    r = korea.reverse(lon + 0.00005, lat)
    assert r is not None and r.confidence is Confidence.EXACT
    assert r.address["street"] == "세종대로" and r.address["housenumber"] == "110"
    assert r.label == "서울특별시 세종대로 110"


def test_korean_parsing() -> None:
    p = parse_text("서울특별시 중구 세종대로 110", "KR")
    assert p.streets == [("세종대로", "110")] and p.region == "서울특별시"
    assert p.localities == ["서울특별시", "중구"]
    assert parse_text("중앙로 12번길 3", "KR").streets == [("중앙로12번길", "3")]
    assert street_keys("중앙로 12번길")[0] == "중앙로12번길"
    assert "중앙로12길" in street_keys("중앙로12번길")


# -- Japan ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "東京都千代田区丸の内1丁目9番1号", "東京都千代田区丸の内一丁目9番1号", "丸の内1-9-1",
    "〒100-0005 東京都千代田区丸の内1丁目9-1", "丸の内１－９－１", "千代田区丸の内1丁目9番地1",
    "東京都 千代田区 丸の内 1-9-1",
])
def test_japanese_block_address(japan: RegionGeocoder, text: str) -> None:
    r = japan.forward(AddressQuery(text=text))
    assert r is not None and r.confidence is Confidence.EXACT, text
    assert metres(r, towns.MARU_1_9_1) < 1


def test_japanese_structured_fields(japan: RegionGeocoder) -> None:
    for street, number in (("丸の内", "1丁目9番1号"), ("丸の内1丁目", "9番1号"),
                           ("丸の内", "1-9-1"), ("丸の内一丁目", "9-1")):
        r = japan.forward(AddressQuery(country="JP", region="東京都", city="千代田区",
                                       street=street, housenumber=number))
        assert r is not None and r.confidence is Confidence.EXACT, (street, number)
        assert metres(r, towns.MARU_1_9_1) < 1
    assert r is not None
    assert r.label == "〒100-0005 東京都千代田区丸の内1丁目9-1"


def test_japanese_grades_below_the_house(japan: RegionGeocoder) -> None:
    """A house (号) missing from a known block (番): the block's centre; a missing block: the
    chōme (street grade)."""
    r = japan.forward(AddressQuery(text="丸の内1丁目9番7号"))
    assert r is not None and r.confidence is Confidence.INTERPOLATED
    mid = ((towns.MARU_1_9_1[0] + towns.MARU_1_9_2[0]) / 2,
           (towns.MARU_1_9_1[1] + towns.MARU_1_9_2[1]) / 2)
    assert metres(r, mid) < 1
    r = japan.forward(AddressQuery(text="丸の内1丁目20番1号"))
    assert r is not None and r.confidence is Confidence.STREET
    r = japan.forward(AddressQuery(text="丸の内2丁目"))
    assert r is not None and r.confidence is Confidence.STREET
    assert metres(r, towns.MARU_2_7_2) < 1


def test_japanese_contradiction(japan: RegionGeocoder) -> None:
    """丸の内 is in Tokyo: the same block address in Osaka is not the Tokyo building."""
    r = japan.forward(AddressQuery(text="大阪府大阪市丸の内1-9-1"))
    assert r is None or r.confidence is Confidence.LOCALITY
    r = japan.forward(AddressQuery(country="JP", city="大阪市", street="丸の内",
                                   housenumber="1-9-1"))
    assert r is not None and r.confidence is Confidence.LOCALITY and r.label == "大阪市"
    r = japan.forward(AddressQuery(text="大阪府大阪市北区梅田1丁目3番1号"))
    assert r is not None and r.confidence is Confidence.EXACT
    assert metres(r, towns.UMEDA_1_3_1) < 1


def test_japanese_reverse(japan: RegionGeocoder) -> None:
    lat, lon = towns.MARU_1_6_5
    r = japan.reverse(lon, lat + 0.00003)
    assert r is not None and r.confidence is Confidence.EXACT
    assert r.address["block_number"] == "6" and r.address["housenumber"] == "6-5"
    assert r.label == "〒100-0005 東京都千代田区丸の内1丁目6-5"


def test_japanese_parsing() -> None:
    p = parse_text("東京都千代田区丸の内1丁目9番1号", "JP")
    assert p.region == "東京都" and "千代田区" in p.localities
    assert p.streets[0] == ("丸の内1丁目", "9-1")
    assert parse_text("丸の内1-9-1").streets[0] == ("丸の内1丁目", "9-1")
    assert number_key("9番1号") == "9-1" and number_key("9番地1") == "9-1"
    assert number_key("１２３") == "123"
