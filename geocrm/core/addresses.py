"""Addresses by country: the order parts are shown and typed in, and one-line parsing.

One rule in one place. An account's address is kept in parts (``postcode``, ``region``,
``city``, ``district``, ``street``, ``housenumber``, ``building``) plus the one-line
``address`` the lists show and the search key is made from. The parts mean the same in
every country, following how each country's own registers split an address:

==============  ========================  ===========================  ===================
part            Korea (KR)                Japan (JP)                   elsewhere
==============  ========================  ===========================  ===================
``region``      시·도 (서울특별시, 경기도)  都道府県 (東京都)              state / province
``city``        시·군·구 (중구,            市区町村 (千代田区,            city / town
                성남시 분당구)              横浜市中区)
``district``    읍·면·동 (역삼동, 양평읍)   町域 / 大字 (丸の内)            district / suburb
``street``      도로명 (세종대로,           rarely used (Japan numbers     street
                역삼로12길)                 blocks, not streets)
``housenumber`` 건물번호 (110, 12-3) or     丁目-番-号 (1丁目1番1号,       house number
                지번 (686-1) for a lot      1-1-1)
``building``    상세주소: building name,    建物名・部屋番号               building, floor,
                floor, unit                                                unit
==============  ========================  ===========================  ===================

A designated city's ward stays with its city (``성남시 분당구``, ``横浜市中区``) because the
registers' 시군구 / 市区町村 columns write them so and the import maps those columns to
``city``.

What ``address`` holds (:func:`address_line`) follows what each country's files put in one
address column, so a typed-in account and an imported row of the same place get the same
search key (``geocrm.core.names.normalise_address``): in Korea and Japan the whole line
from the region down (도로명주소, 住所), in other countries the street line, with the
postcode and city in their own columns as before. The full display (:func:`format_lines`,
:func:`format_one_line`) adds the rest in the country's order.

Pure: no Flask, no database; the geocoder and the import call :func:`parse_address`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from babel import Locale

#: The address parts, in no country's order (the columns of ``accounts``).
PARTS: tuple[str, ...] = (
    "postcode", "region", "city", "district", "street", "housenumber", "building",
)
#: The parts that only structured addresses have: any of them set means the row has parts
#: (``city`` and ``postcode`` alone are what legacy rows carried next to a free ``address``).
STRUCTURED: tuple[str, ...] = ("region", "district", "street", "housenumber", "building")

Style = Literal["KR", "JP", "US", "GB", "FR", "default"]

#: The order of the form's inputs per style.
INPUT_ORDER: dict[str, tuple[str, ...]] = {
    # Korean forms: 우편번호 first (it is looked up), then the road-name address, then 상세주소.
    "KR": ("postcode", "region", "city", "district", "street", "housenumber", "building"),
    # Japanese forms: 〒 first (it fills the prefecture and city), then 番地, then 建物名.
    "JP": ("postcode", "region", "city", "district", "housenumber", "building", "street"),
    "US": ("housenumber", "street", "building", "district", "city", "region", "postcode"),
    "GB": ("housenumber", "street", "building", "district", "city", "postcode", "region"),
    "FR": ("housenumber", "street", "building", "district", "postcode", "city", "region"),
    "default": ("street", "housenumber", "building", "district", "postcode", "city", "region"),
}


# Number before the street: "1600 Pennsylvania Ave NW, Washington, DC 20500" (US style),
# "10 Downing Street, London SW1A 2AA" (GB), "10 rue de Rivoli, 75001 Paris" (FR); the rest
# of Europe and the default write "Mannerheimintie 1, 00100 Helsinki".
STYLES: dict[str, Style] = {
    "KR": "KR", "JP": "JP",
    **dict.fromkeys(("US", "CA", "AU", "PH"), "US"),
    **dict.fromkeys(("GB", "IE", "NZ", "ZA", "SG", "IN", "MY"), "GB"),
    **dict.fromkeys(("FR", "LU", "MC"), "FR"),
}


def style(country: str | None) -> Style:
    """Which address convention ``country`` (ISO 3166 alpha-2) writes in."""
    return STYLES.get((country or "").upper(), "default")


def input_order(country: str | None) -> tuple[str, ...]:
    """The parts in the order a person from ``country`` types them."""
    return INPUT_ORDER[style(country)]


@dataclass(frozen=True)
class Address:
    """An address in parts; ``None`` for a part not known."""

    postcode: str | None = None
    region: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    housenumber: str | None = None
    building: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Address:
        """The parts of a dict or a row (other keys ignored; blank text is ``None``)."""
        out: dict[str, str | None] = {}
        for part in PARTS:
            value = values.get(part)
            text = str(value).strip() if value is not None else ""
            out[part] = text or None
        return cls(**out)

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @property
    def structured(self) -> bool:
        """Whether any part beyond city and postcode is known."""
        return any(getattr(self, p) for p in STRUCTURED)


def _join(sep: str, *items: str | None) -> str:
    return sep.join(i for i in items if i)


# -- Korea ---------------------------------------------------------------------------------
# A road-name address puts 읍/면 before the road and the 동 in parentheses after it.
def _kr_district_before_road(district: str | None) -> bool:
    return bool(district) and district is not None and district.endswith(("읍", "면"))


def _kr_main(a: Address) -> str:
    if a.street:
        before = a.district if _kr_district_before_road(a.district) else None
        return _join(" ", a.region, a.city, before, a.street, a.housenumber)
    # A lot (지번) address: the 동/리 before the lot number.
    return _join(" ", a.region, a.city, a.district, a.housenumber)


def _kr_reference(a: Address) -> str | None:
    if a.street and a.district and not _kr_district_before_road(a.district):
        return f"({a.district})"
    return None


def _kr_line(a: Address) -> str:
    main = _kr_main(a)
    if a.building:
        main = f"{main}, {a.building}" if main else a.building
    return _join(" ", main, _kr_reference(a))


# -- Japan ---------------------------------------------------------------------------------
def _jp_main(a: Address) -> str:
    return _join("", a.region, a.city, a.district, a.street, a.housenumber)


def _jp_postcode(a: Address) -> str | None:
    return f"〒{a.postcode}" if a.postcode else None


# -- the rest ------------------------------------------------------------------------------
def _street_line(a: Address, st: Style) -> str:
    if st in ("US", "GB", "FR"):
        return _join(" ", a.housenumber, a.street)
    return _join(" ", a.street, a.housenumber)


def _town_line(a: Address, st: Style) -> str:
    if st == "US":
        return _join(", ", a.city, _join(" ", a.region, a.postcode))
    if st == "GB":
        return _join(", ", _join(" ", a.city, a.postcode), a.region)
    return _join(", ", _join(" ", a.postcode, a.city), a.region)


def address_line(parts: Address, country: str | None) -> str | None:
    """What the account's ``address`` column holds for these parts (see the module doc):
    KR/JP the whole line without the postcode, elsewhere the street line and building."""
    st = style(country)
    if st == "KR":
        line = _kr_line(parts)
    elif st == "JP":
        line = _join(" ", _jp_main(parts), parts.building)
    else:
        line = _join(", ", _street_line(parts, st), parts.building)
    return line or None


def format_lines(parts: Address, country: str | None) -> list[str]:
    """The address as lines, in the country's display order.

    KR: the road-name address (시도 시군구 도로명 건물번호), then 상세주소 and (동), then the
    postcode. JP: 〒postcode, then 都道府県市区町村町域丁目番号, then building and room.
    Elsewhere: street and number (number first in the US), building, district, postcode and
    city, region.
    """
    st = style(country)
    if st == "KR":
        lines = [_kr_main(parts), _join(" ", parts.building, _kr_reference(parts)),
                 parts.postcode or ""]
    elif st == "JP":
        lines = [_jp_postcode(parts) or "", _jp_main(parts), parts.building or ""]
    else:
        lines = [_street_line(parts, st), parts.building or "", parts.district or "",
                 _town_line(parts, st)]
    return [line for line in lines if line]


def format_one_line(parts: Address, country: str | None) -> str:
    """The whole address on one line, postcode and city included, in the country's order."""
    st = style(country)
    if st == "KR":
        line = _kr_line(parts)
        return _join(" ", f"({parts.postcode})" if parts.postcode else None, line)
    if st == "JP":
        return _join(" ", _jp_postcode(parts), _jp_main(parts), parts.building)
    return _join(", ", _street_line(parts, st), parts.building, parts.district,
                 _town_line(parts, st))


# -- which country a text is written for ---------------------------------------------------
_HANGUL = re.compile("[\uac00-\ud7a3]")
_KANA = re.compile("[\u3040-\u30ff\uff66-\uff9f]")
_JP_PREF = re.compile(r"^(?:〒?\s*\d{3}-?\d{4}\s*)?(?:東京都|北海道|京都府|大阪府|\S{2,3}県)")


@functools.lru_cache(maxsize=65536)  # an import asks for each row's address
def guess_country(text: str | None) -> str | None:
    """``"KR"`` for a Hangul address, ``"JP"`` for a Japanese one (kana, a 〒 or a
    prefecture first); ``None`` when the script says nothing (Latin text)."""
    if not text or text.isascii():
        return None
    if _HANGUL.search(text):
        return "KR"
    norm = _nfkc(text)
    if _KANA.search(norm) or "〒" in norm or _JP_PREF.match(norm.strip()):
        return "JP"
    return None


# -- parsing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parsed:
    """A one-line address split into parts.

    ``country`` is the convention it was read in; ``kind`` says what was recognised
    (``"road"``: a Korean road-name address, ``"lot"``: a Korean lot/지번 address,
    ``"block"``: a Japanese block address, ``"street"``: street and number).
    """

    parts: Address
    country: str
    kind: str


_DASHES = re.compile("[\u2010-\u2015\u2212\u30fc\uff0d\u2043\ufe63]")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _numbers_dashes(text: str) -> str:
    """Every hyphen-like mark between digits (ー, －, −, ‐, –) as ``-``."""
    return re.sub(r"(?<=\d)\s*" + _DASHES.pattern + r"\s*(?=\d)", "-", text)


# Pure, and its answer immutable: remembered, as a register repeats its street addresses
# (with a different postcode or floor on each row, which the split does not read).
@functools.lru_cache(maxsize=65536)
def parse_address(text: str | None, country: str | None = None) -> Parsed | None:
    """Split a one-line address into parts; ``None`` when it is not recognised.

    ``country`` (ISO alpha-2) says which convention to read; without it the script decides
    (:func:`guess_country`), and Latin text is read as "street number". Korean: road-name
    addresses (``서울특별시 중구 세종대로 110``, ``… 역삼로12길 3, 2층 (역삼동, OO빌딩)``,
    ``… 로 12번길 3``) and lot addresses (``… 신대방동 686번지 1호``, ``… 쌍문동 503-8 2~5층``,
    ``산 12-3``). Japanese: ``〒100-0001 東京都千代田区千代田1丁目1番1号``, ``… 1-1-1 ビル 101``,
    full-width digits and hyphens too. Pure and deterministic: the import, the account rules
    and the geocoder call it.
    """
    if not text or not text.strip():
        return None
    code = (country or "").upper() or guess_country(text) or ""
    if code == "KR":
        return _parse_kr(text)
    if code == "JP":
        return _parse_jp(text, explicit=bool(country))
    return _parse_street(text, code or None)


# Korea
_KR_REGIONS = {
    "서울시": "서울특별시", "부산시": "부산광역시", "대구시": "대구광역시", "인천시": "인천광역시",
    "광주시": "광주광역시", "대전시": "대전광역시", "울산시": "울산광역시",
    "서울": "서울특별시", "부산": "부산광역시", "대구": "대구광역시", "인천": "인천광역시",
    "광주": "광주광역시", "대전": "대전광역시", "울산": "울산광역시", "세종": "세종특별자치시",
    "경기": "경기도", "강원": "강원특별자치도", "충북": "충청북도", "충남": "충청남도",
    "전북": "전북특별자치도", "전남": "전라남도", "경북": "경상북도", "경남": "경상남도",
    "제주": "제주특별자치도",
}
_KR_REGION = re.compile(r"^\S+(?:특별시|광역시|특별자치시|특별자치도|도)$")
_KR_CITY = re.compile(r"^\S+[시군구]$")
_KR_ROAD = re.compile(r"^\S+(?:로|길)(?:\d+(?:번)?(?:길|가길|안길))?$")
_KR_ROAD_TAIL = re.compile(r"^\d+(?:번)?(?:길|가길|안길)$")  # "세종대로 12번길" written apart
_KR_NUMBER = re.compile(r"^(?:지하\s?)?\d+(?:-\d+)?$")
_KR_DONG = re.compile(r"^\S+(?:동|가|리|읍|면)$")
_KR_LOT = re.compile(r"^(산\s?)?(\d+)(?:번지)?(?:\s*(?:-\s*|\s)(\d+)(?:호)?)?$")
# The comma before 상세주소; "2,3,4층" (floors) is no separator.
_KR_COMMA = re.compile(r",(?!\d)")
_KR_GLUED_LOT = re.compile(r"(?<=[동리])(?=산?\d+(?!\d*가)(?:[-\s]|번지|$))")
_KR_POSTCODE = re.compile(r"^[\[(]?(\d{5}|\d{3}-\d{3})[\])]?\s+")


def _parse_kr(text: str) -> Parsed | None:
    s = _numbers_dashes(_nfkc(text)).strip()
    postcode = None
    m = _KR_POSTCODE.match(s)
    if m:
        postcode, s = m.group(1), s[m.end():]
    # (동, 건물명): the reference in parentheses at the end.
    dong: str | None = None
    names: list[str] = []
    m = re.search(r"\(([^()]*)\)\s*$", s)
    if m:
        s = s[:m.start()].strip()
        for item in (i.strip() for i in _KR_COMMA.split(m.group(1))):
            if item and dong is None and _KR_DONG.match(item) and " " not in item:
                dong = item
            elif item:
                names.append(item)
    main, detail = (_KR_COMMA.split(s, maxsplit=1) + [""])[:2]
    # A lot number glued to its 동 ("공릉3동323-2", "상계1동산51번지"); "영등포동7가" is a name.
    main = _KR_GLUED_LOT.sub(" ", main)
    tokens = main.split()
    i, n = 0, len(tokens)
    region = city = district = street = number = None
    if i < n and (tokens[i] in _KR_REGIONS or _KR_REGION.match(tokens[i])):
        region = _KR_REGIONS.get(tokens[i], tokens[i])
        i += 1
    cities = []
    while i < n and len(cities) < 2 and _KR_CITY.match(tokens[i]) and not _KR_ROAD.match(
            tokens[i]):
        cities.append(tokens[i])
        i += 1
    city = " ".join(cities) or None
    if i < n and tokens[i].endswith(("읍", "면")) and not _KR_ROAD.match(tokens[i]):
        district = tokens[i]
        i += 1
    kind = "road"
    if i < n and _KR_ROAD.match(tokens[i]):
        street = tokens[i]
        i += 1
        if i < n and _KR_ROAD_TAIL.match(tokens[i]):
            street += tokens[i]
            i += 1
        if i < n and tokens[i] == "지하" and i + 1 < n:
            tokens[i + 1] = "지하 " + tokens[i + 1]
            i += 1
        if i < n and _KR_NUMBER.match(tokens[i]):
            number = tokens[i]
            i += 1
        else:
            return None
        if dong and not district:
            district = dong
        elif dong:
            names.insert(0, dong)
    elif i < n and _KR_DONG.match(tokens[i]):
        kind = "lot"
        district = _join(" ", district, tokens[i])
        i += 1
        if i < n and _KR_DONG.match(tokens[i]) and tokens[i].endswith("리"):
            district = _join(" ", district, tokens[i])
            i += 1
        # the lot number: "686번지 1호", "503-8", "산 12-3", "686"
        rest = " ".join(tokens[i:])
        m = re.match(r"(산\s?)?(\d+)(?:번지)?(?:\s*-\s*(\d+)호?|\s+(\d+)호)?(?=\s|$|번지)",
                     rest)
        if not m:
            return None
        number = ("산" if m.group(1) else "") + m.group(2) + (
            f"-{m.group(3) or m.group(4)}" if (m.group(3) or m.group(4)) else "")
        tail = rest[m.end():].strip()
        tail = re.sub(r"^번지\s*", "", tail)
        tokens, i, n = tail.split(), 0, len(tail.split())
        if dong and dong != district:
            names.insert(0, dong)
    else:
        return None
    detail_parts = [" ".join(tokens[i:]), detail.strip(), *names]
    building = _join(", ", *detail_parts) or None
    return Parsed(Address(postcode=postcode, region=region, city=city, district=district,
                          street=street, housenumber=number, building=building), "KR", kind)


# Japan
_JP_POSTCODE = re.compile(r"^〒?\s*(\d{3})-?(\d{4})\s*")
_JP_PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|[^\s\d]{2,3}県)")
# Municipalities whose name holds 市/区/町/村 before its end: a lazy match would cut them.
_JP_CITY_NAMES = (
    "四日市市", "廿日市市", "野々市市", "十日町市", "大町市", "東村山市", "武蔵村山市", "村山市",
    "羽村市", "大村市", "田村市", "市川市", "市原市", "町田市", "上市町", "玉村町", "木村町",
)
_JP_GUN = re.compile(r"^[^\s\d]{1,5}?郡")
_JP_CITY = re.compile(r"^[^\s\d]+?[市区町村]")
_JP_WARD = re.compile(r"^[^\s\d]{1,4}?区")
_KANJI_DIGITS = "一二三四五六七八九十"
_JP_BLOCK = re.compile(
    r"(?:[0-9]+|[" + _KANJI_DIGITS + r"]+)丁目"
    r"(?:\s*[0-9]+(?:番地|番|-|の)?(?:\s*[0-9]+(?:号|-)?)*)?"
    # Hokkaido's 条 and 線 (北1条西2丁目) are part of the town's name, not its block.
    r"|[0-9]+(?![0-9]*(?:条|線|地割))(?:番地|番|-|の)?(?:[0-9]+(?:番地|番|号|-|の)?)*")


def _parse_jp(text: str, *, explicit: bool = False) -> Parsed | None:
    s = _numbers_dashes(_nfkc(text)).strip()
    postcode = None
    m = _JP_POSTCODE.match(s)
    if m:
        postcode, s = f"{m.group(1)}-{m.group(2)}", s[m.end():].strip()
    region = city = None
    m = _JP_PREFECTURE.match(s)
    if m:
        region, s = m.group(1), s[m.end():].strip()
    gun = _JP_GUN.match(s)
    rest = s[gun.end():] if gun else s
    name = next((c for c in _JP_CITY_NAMES if rest.startswith(c)), None)
    m_city = None if name else _JP_CITY.match(rest)
    if m_city and region is None and gun is None and m_city.group(0).endswith(("町", "村")):
        # Without a prefecture, "小黒町1丁目" is a town area (町域), not a town (町).
        m_city = None
    if name or m_city:
        city = name or (m_city.group(0) if m_city else None)
        assert city is not None
        rest = rest[len(city):]
        if city.endswith("市"):  # a designated city's ward: 横浜市中区
            ward = _JP_WARD.match(rest)
            if ward:
                city, rest = city + ward.group(0), rest[ward.end():]
        if gun:
            city = gun.group(0) + city
        s = rest.strip()
    block = _JP_BLOCK.search(s)
    if block is None:
        if region is None and city is None:
            return None
        return Parsed(Address(postcode=postcode, region=region, city=city,
                              district=s or None), "JP", "block")
    district = s[:block.start()].strip() or None
    housenumber = block.group(0).strip().rstrip("-の") or None
    building = s[block.end():].strip(" ,、") or None
    if not explicit and region is None and city is None and district is None and not re.search(
            "丁目|番", housenumber or ""):
        return None  # bare numbers say Japan only when the caller says so
    return Parsed(Address(postcode=postcode, region=region, city=city, district=district,
                          housenumber=housenumber, building=building), "JP", "block")


# Street and number (the rest of the world), best effort
_STREET_NUMBER = re.compile(r"^(?P<street>.*?[^\d\s,])\s+"
                            r"(?P<number>\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?)"
                            r"(?:\s*,?\s*(?P<rest>.+))?$")
_NUMBER_STREET = re.compile(r"^(?P<number>\d+[A-Za-z]?(?:-\d+)?)\s+(?P<street>[^,]+?)"
                            r"(?:\s*,\s*(?P<rest>.+))?$")


def _parse_street(text: str, country: str | None) -> Parsed | None:
    s = " ".join(text.split())
    m = _NUMBER_STREET.match(s) or _STREET_NUMBER.match(s)
    if not m:
        return None
    return Parsed(Address(street=m.group("street"), housenumber=m.group("number"),
                          building=m.group("rest") or None), country or "", "street")


# -- countries -----------------------------------------------------------------------------
# CLDR's two-letter codes that name no country (unknown region, EU, eurozone, UN, ...).
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


def _country_names() -> dict[str, str]:
    """Country names as people write them (English, Korean, Japanese, Finnish; Babel's
    CLDR names) to their ISO codes: an import's 국가 column says 대한민국, not KR."""
    names: dict[str, str] = {}
    for lang in ("en", "ko", "ja", "fi"):
        for code, name in Locale(lang).territories.items():
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
                names[name.casefold()] = code
    names.update({"korea": "KR", "south korea": "KR", "republic of korea": "KR", "한국": "KR",
                  "남한": "KR", "韓国": "KR", "japan": "JP", "日本国": "JP", "usa": "US",
                  "uk": "GB"})
    return names


_COUNTRY_NAMES: dict[str, str] = {}


def country_names(locale: str) -> dict[str, str]:
    """ISO code -> the country's name in ``locale`` (CLDR), for a country picker."""
    return {code: name for code, name in Locale.parse(locale).territories.items()
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES}


def country_code(text: str | None) -> str | None:
    """The ISO 3166 alpha-2 code of ``text`` (a code in any case, or a country's name in
    English, Korean, Japanese or Finnish); ``None`` when it names no country."""
    if not text or not text.strip():
        return None
    if not _COUNTRY_NAMES:
        _COUNTRY_NAMES.update(_country_names())
    key = _nfkc(text).strip()
    if len(key) == 2 and key.isalpha() and key.isascii():
        code = key.upper()
        return code if code in _COUNTRY_NAMES.values() else None
    return _COUNTRY_NAMES.get(key.casefold())
