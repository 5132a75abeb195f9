"""Reading an upload and mapping its columns to account fields.

The file formats and encodings live in :mod:`geocrm.imports.sources`; the header
names recognised for each field, in English, Finnish, Korean and Japanese, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from geocrm.errors import ValidationError
from geocrm.imports import sources

# Target field -> header names we recognise (compared case- and punctuation-insensitively).
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "company", "company name", "business", "store name", "account", "nimi",
             "yritys", "account name", "applicant",
             "사업장명", "상호", "상호명", "업소명", "업체명", "이름",  # Korean registers
             "店名", "名称", "名前", "事業所名", "施設名", "会社名", "店舗名"),  # Japanese
    "external_id": ("external id", "external_id", "id", "record id", "store id", "objectid",
                    "permit", "locationid", "tunnus", "관리번호", "管理番号", "番号"),
    # A Japanese account's reading (フリガナ), for sorting and search.
    "name_reading": ("reading", "name reading", "furigana", "kana", "フリガナ", "ふりがな",
                     "カナ", "店名カナ", "名称カナ", "よみがな", "読み", "ヨミ", "名前カナ"),
    "address": ("address", "street address", "store street address", "osoite",
                "katuosoite", "address line 1", "addr", "도로명주소", "소재지도로명주소",
                "도로명전체주소", "주소", "지번주소", "소재지지번주소", "住所", "所在地"),
    "country": ("country", "country code", "maa", "국가", "국가명", "国", "国名"),
    # The address in parts (geocrm.core.addresses): 시도/都道府県 is the region, 시군구/市区町村
    # the city, 읍면동/町域 the district, 도로명 the street, 건물번호/番地 the number.
    "region": ("region", "state", "province", "prefecture", "lääni", "maakunta",
               "시도", "시도명", "시·도", "광역시도", "都道府県", "都道府県名"),
    "city": ("city", "town", "kaupunki", "municipality", "kunta", "시군구", "시군구명", "시·군·구",
             "市区町村名", "市区町村"),
    "district": ("district", "suburb", "neighbourhood", "neighborhood", "ward",
                 "kaupunginosa", "읍면동", "읍면동명", "법정동", "법정동명", "행정동명",
                 "町域", "町域名", "町名", "大字", "大字町丁目名"),
    "street": ("street", "street name", "road", "road name", "katu", "katuosoite nimi",
               "도로명", "도로명칭"),
    "housenumber": ("house number", "housenumber", "street number", "numero",
                    "talonumero", "건물번호", "건물본번", "번지", "지번", "番地", "番地号",
                    "丁目番地"),
    "building": ("building", "building name", "unit", "suite", "apartment", "floor",
                 "address line 2", "rakennus", "건물명", "상세주소", "건물명칭", "建物名",
                 "建物名等", "ビル名", "部屋番号"),
    "postcode": ("postcode", "zip", "zip code", "zip5", "postal code", "postinumero",
                 "도로명우편번호", "우편번호", "郵便番号", "〒"),
    # Korean LOCALDATA's 좌표정보(X)/(Y) are grid metres: the checked guess makes them x/y.
    "lat": ("lat", "latitude", "y", "leveysaste", "위도", "緯度", "좌표정보(y)"),
    "lon": ("lon", "lng", "long", "longitude", "x", "pituusaste", "경도", "経度", "좌표정보(x)"),
    "stage": ("stage", "status", "vaihe"),
    "phone": ("phone", "telephone", "tel", "puhelin", "전화번호", "電話番号"),
    "email": ("email", "e-mail", "sähköposti", "sahkoposti"),
    "website": ("website", "web", "url", "www"),
    "opening_hours": ("opening hours", "opening_hours", "hours", "aukioloajat"),
    "tags": ("tags", "labels", "tunnisteet"),
    "value": ("value", "revenue", "annual value", "arvo"),
    "visit_minutes": ("visit minutes", "visit duration", "duration"),
    "cadence_days": ("cadence days", "cadence", "visit every days"),
    "priority": ("priority", "prioriteetti"),
    "required_skills": ("required skills", "skills needed", "skills", "skill", "osaaminen",
                        "필요 기술", "필요기술", "必要スキル", "スキル"),
    "category": ("category", "type", "store type", "segment", "facilitytype", "kategoria"),
}


def _key(header: str) -> str:
    """A header compared case- and punctuation-insensitively, letters of every script kept."""
    return re.sub(r"[\W_]+", " ", header.casefold()).strip()


def read_table(data: bytes, notes: list[str] | None = None, *, filename: str = "",
               encoding: str | None = None, sheet: str | None = None,
               limit: int | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a CSV (any delimiter, detected encoding) or .xlsx file.

    The reading rules live in :mod:`geocrm.imports.sources`; ``encoding`` overrides the
    detected one; ``sheet`` picks a workbook's sheet and ``limit`` keeps only its first
    rows (a preview). Raises :class:`ValidationError` on an
    empty file, a file with no data rows, duplicate or blank header names, and bytes that
    do not fit the encoding.
    """
    table = sources.read_source(data, filename, encoding=encoding, sheet=sheet, limit=limit)
    if notes is not None:
        notes.extend(table.notes)
    return table.headers, table.rows


def guess_mapping(headers: Iterable[str]) -> dict[str, str]:
    """Target field -> header, from common header names (English and Finnish)."""
    by_key = {_key(h): h for h in headers}
    mapping: dict[str, str] = {}
    for target, aliases in FIELDS.items():
        for alias in aliases:
            header = by_key.get(_key(alias))
            if header is not None and header not in mapping.values():
                mapping[target] = header
                break
    return mapping


def check_mapping(mapping: Mapping[str, str], headers: list[str]) -> dict[str, str]:
    """Validate a mapping: known targets, headers that exist, a name, both coordinates or none."""
    clean = {k: v for k, v in mapping.items() if v}
    for target, header in clean.items():
        if target not in FIELDS:
            raise ValidationError("mapping", f"unknown field {target!r}")
        if header not in headers:
            raise ValidationError("mapping", f"{target} is mapped to {header!r}, not in the file")
    if "name" not in clean:
        raise ValidationError("mapping", "no column is mapped to name")
    if ("lat" in clean) != ("lon" in clean):
        raise ValidationError("mapping", "map both lat and lon, or neither")
    return clean
