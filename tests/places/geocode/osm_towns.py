"""Small synthetic towns written as OSM XML by the tests, in the tagging OSM uses per country.

* :func:`finnish_towns`: Helsinki (bilingual names, ``name:fi`` / ``name:sv``) and Espoo 15 km
  away, both with a Koulukatu 5 (the namesake problem); address points, a building, an
  entrance, an ``addr:interpolation`` line, postcodes; a German town and an American town for
  the abbreviations.
* :func:`korean_towns`: Seoul and Busan: road-name addresses (``addr:street`` = 도로명,
  ``addr:housenumber`` = 건물번호, e.g. 세종대로 110, 중앙로12번길 3 in both cities) and a lot
  address (지번: ``addr:place`` = 법정동 태평로1가, ``addr:housenumber`` = 31).
* :func:`japanese_towns`: Tokyo and Osaka in OSM Japan's block tagging: ``addr:province``
  (都道府県), ``addr:city`` (市区町村), ``addr:quarter`` (町・大字), ``addr:neighbourhood``
  (丁目), ``addr:block_number`` (番), ``addr:housenumber`` (号).

Coordinates are chosen so the expected answers can be computed by hand in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr


@dataclass
class Town:
    """Nodes and ways to write; ids are given in order."""

    nodes: list[tuple[int, float, float, dict[str, str]]] = field(default_factory=list)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    _next: int = 1

    def node(self, lat: float, lon: float, **tags: str) -> int:
        nid = self._next
        self._next += 1
        self.nodes.append((nid, lat, lon, _tags(tags)))
        return nid

    def way(self, points: list[tuple[float, float]] | list[int], **tags: str) -> int:
        refs = [p if isinstance(p, int) else self.node(*p) for p in points]
        wid = 10_000 + len(self.ways)
        self.ways.append((wid, refs, _tags(tags)))
        return wid

    def write(self, path: Path) -> Path:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
        for nid, lat, lon, tags in self.nodes:
            body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
            lines.append(f'<node id="{nid}" version="1" timestamp="2024-05-01T10:00:00Z" '
                         f'lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>')
        for wid, refs, tags in self.ways:
            body = "".join(f'<nd ref="{r}"/>' for r in refs)
            body += "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
            lines.append(f'<way id="{wid}" version="1" timestamp="2024-05-01T10:00:00Z">'
                         f"{body}</way>")
        lines.append("</osm>")
        path.write_text("\n".join(lines), encoding="utf-8")
        return path


def _tags(kw: dict[str, str]) -> dict[str, str]:
    """Python names to OSM keys: addr_street → addr:street, name_sv → name:sv."""
    return {k.replace("_", ":", 1) if k.startswith(("addr_", "name_")) else k: v
            for k, v in kw.items()}


# Helsinki: Aleksanterinkatu runs east along lat 60.1690; even numbers on the north side.
ALEKS_2 = (60.16910, 24.9410)
ALEKS_4 = (60.16910, 24.9420)
ALEKS_10 = (60.16910, 24.9450)
ALEKS_1 = (60.16890, 24.9410)
ALEKS_3 = (60.16890, 24.9420)
MANNER_1 = (60.17000, 24.9380)  # a building's centre (a square outline around it)
KOULU_HKI = ((60.17195, 24.9400), (60.17195, 24.9460))  # interpolation 1 … 9 (odd)
KOULU_ESPOO_5 = (60.20495, 24.6530)
HELSINKI = (60.1699, 24.9384)
ESPOO = (60.2055, 24.6559)
HAUPT_5 = (50.00010, 8.0010)
MAIN_12 = (40.00010, -80.0010)


def finnish_towns(path: Path, *, abroad: bool = True) -> Path:
    """Helsinki and Espoo; with ``abroad`` also the German and the American town (an extract
    that spans an ocean: fine for the geocoder, not for a basemap)."""
    t = Town()
    t.node(*HELSINKI, place="city", name="Helsinki", name_fi="Helsinki", name_sv="Helsingfors")
    t.node(*ESPOO, place="city", name="Espoo", name_fi="Espoo", name_sv="Esbo")
    t.node(60.1650, 24.9320, place="suburb", name="Kamppi", name_sv="Kampen")
    t.way([(60.1690, 24.9400), (60.1690, 24.9500)], highway="primary",
          name="Aleksanterinkatu", name_fi="Aleksanterinkatu", name_sv="Alexandersgatan")
    for (lat, lon), number in ((ALEKS_2, "2"), (ALEKS_4, "4"), (ALEKS_10, "10"),
                               (ALEKS_1, "1"), (ALEKS_3, "3")):
        t.node(lat, lon, shop="clothes", addr_street="Aleksanterinkatu",
               addr_housenumber=number, addr_postcode="00100", addr_city="Helsinki")
    t.node(60.16912, 24.9421, entrance="main", addr_street="Aleksanterinkatu",
           addr_housenumber="4", addr_city="Helsinki")
    t.way([(60.1680, 24.9370), (60.1720, 24.9390)], highway="primary", name="Mannerheimintie",
          name_sv="Mannerheimvägen")
    la, lo = MANNER_1
    d = 0.0002
    ring = [t.node(la - d, lo - d), t.node(la - d, lo + d), t.node(la + d, lo + d),
            t.node(la + d, lo - d)]
    t.way([*ring, ring[0]], building="yes", addr_street="Mannerheimintie",
          addr_housenumber="1", addr_postcode="00100", addr_city="Helsinki")
    t.way([(60.1720, 24.9400), (60.1720, 24.9460)], highway="residential", name="Koulukatu")
    a = t.node(*KOULU_HKI[0], addr_street="Koulukatu", addr_housenumber="1",
               addr_postcode="00170", addr_city="Helsinki")
    b = t.node(*KOULU_HKI[1], addr_street="Koulukatu", addr_housenumber="9",
               addr_postcode="00170", addr_city="Helsinki")
    t.way([a, b], addr_interpolation="odd")
    t.way([(60.2050, 24.6500), (60.2050, 24.6560)], highway="residential", name="Koulukatu")
    t.node(*KOULU_ESPOO_5, addr_street="Koulukatu", addr_housenumber="5",
           addr_postcode="02100", addr_city="Espoo")
    t.way([(60.1660, 24.9550), (60.1680, 24.9600)], highway="residential", name="Hämeentie")
    t.node(60.16705, 24.9575, addr_street="Hämeentie", addr_housenumber="7",
           addr_postcode="00530", addr_city="Helsinki")
    if not abroad:
        return t.write(path)
    # a German and an American town for the abbreviations
    t.node(50.0, 8.0, place="town", name="Musterstadt")
    t.way([(50.0, 8.0), (50.0, 8.004)], highway="residential", name="Hauptstraße")
    t.node(*HAUPT_5, addr_street="Hauptstraße", addr_housenumber="5", addr_postcode="55116",
           addr_city="Musterstadt")
    t.node(40.0, -80.0, place="town", name="Springfield")
    t.way([(40.0, -80.0), (40.0, -80.004)], highway="residential", name="Main Street")
    t.node(*MAIN_12, addr_street="Main Street", addr_housenumber="12",
           addr_city="Springfield", addr_postcode="15001", addr_country="US")
    return t.write(path)


# Seoul: 세종대로 runs north along lon 126.9770; building numbers even on the east side.
SEJONG_110 = (37.56630, 126.97790)
SEJONG_100 = (37.56550, 126.97780)
SEJONG_120 = (37.56710, 126.97800)
SEOUL_JUNGANG_3 = (37.56400, 126.99000)
BUSAN_JUNGANG_3 = (35.10400, 129.03400)
TAEPYEONG_31 = (37.56640, 126.97700)


def korean_towns(path: Path) -> Path:
    t = Town()
    t.node(37.5665, 126.9780, place="city", name="서울특별시", name_ko="서울특별시",
           name_en="Seoul")
    t.node(37.5641, 126.9979, place="borough", name="중구", name_en="Jung-gu")
    t.node(35.1796, 129.0756, place="city", name="부산광역시", name_en="Busan")
    t.node(35.1063, 129.0323, place="borough", name="중구", name_en="Jung-gu")
    t.node(37.5660, 126.9760, place="quarter", name="태평로1가")
    t.way([(37.5640, 126.9768), (37.5700, 126.9770)], highway="primary", name="세종대로",
          name_en="Sejong-daero")
    for (lat, lon), number in ((SEJONG_100, "100"), (SEJONG_110, "110"), (SEJONG_120, "120")):
        t.node(lat, lon, building="yes", addr_street="세종대로", addr_housenumber=number,
               addr_city="서울특별시", addr_district="중구", addr_postcode="04524")
    t.way([(37.5638, 126.9890), (37.5642, 126.9910)], highway="residential",
          name="중앙로12번길")
    t.node(*SEOUL_JUNGANG_3, addr_street="중앙로12번길", addr_housenumber="3",
           addr_city="서울특별시", addr_district="중구")
    t.way([(35.1038, 129.0330), (35.1042, 129.0350)], highway="residential",
          name="중앙로12번길")
    t.node(*BUSAN_JUNGANG_3, addr_street="중앙로12번길", addr_housenumber="3",
           addr_city="부산광역시", addr_district="중구", addr_postcode="48941")
    t.node(*TAEPYEONG_31, amenity="townhall", addr_place="태평로1가", addr_housenumber="31",
           addr_city="서울특별시", addr_district="중구")
    return t.write(path)


# Tokyo: 丸の内一丁目 9番1号 and 9番2号, 6番5号; 丸の内二丁目 7番2号. Osaka: 梅田一丁目 3番1号.
MARU_1_9_1 = (35.68120, 139.76710)
MARU_1_9_2 = (35.68160, 139.76690)
MARU_1_6_5 = (35.68430, 139.76490)
MARU_2_7_2 = (35.68000, 139.76450)
UMEDA_1_3_1 = (34.70000, 135.49600)


def japanese_towns(path: Path) -> Path:
    t = Town()
    t.node(35.6895, 139.6917, place="province", name="東京都", name_en="Tokyo")
    t.node(35.6940, 139.7536, place="city", name="千代田区", name_en="Chiyoda")
    t.node(35.6812, 139.7649, place="quarter", name="丸の内", name_en="Marunouchi")
    t.node(34.6863, 135.5200, place="province", name="大阪府", name_en="Osaka Prefecture")
    t.node(34.6937, 135.5023, place="city", name="大阪市", name_en="Osaka")
    t.node(34.7000, 135.4980, place="quarter", name="梅田", name_en="Umeda")

    def house(where: tuple[float, float], quarter: str, chome: str, block: str, number: str,
              city: str, province: str, postcode: str) -> None:
        t.node(*where, building="yes", addr_province=province, addr_city=city,
               addr_quarter=quarter, addr_neighbourhood=chome, addr_block_number=block,
               addr_housenumber=number, addr_postcode=postcode)

    house(MARU_1_9_1, "丸の内", "一丁目", "9", "1", "千代田区", "東京都", "100-0005")
    house(MARU_1_9_2, "丸の内", "一丁目", "9", "2", "千代田区", "東京都", "100-0005")
    house(MARU_1_6_5, "丸の内", "一丁目", "6", "5", "千代田区", "東京都", "100-0005")
    house(MARU_2_7_2, "丸の内", "二丁目", "7", "2", "千代田区", "東京都", "100-0005")
    house(UMEDA_1_3_1, "梅田", "一丁目", "3", "1", "大阪市北区", "大阪府", "530-0001")
    return t.write(path)
