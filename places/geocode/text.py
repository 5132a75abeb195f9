"""Address text made comparable: folding, street keys, house-number keys and free-text parsing.

One rule for both sides: the index folds OpenStreetMap's names with the same functions that fold
what a user typed, so "MANNERHEIMINTIE", "Mannerheimintie" and "mannerheimintie" meet, and so do
"Hauptstr.", "Haupt-Straße" and "Hauptstrasse", "Mannerheimink." and "Mannerheiminkatu",
"중앙로 12번길" and "중앙로12번길", "１丁目" and "一丁目".

* :func:`fold`: NFKC (full-width digits and letters to ASCII, half-width kana to full), case
  folded, accents of Latin letters dropped (Korean and Japanese keep every mark: a dakuten is
  part of the letter), dashes and spaces made one kind.
* :func:`street_keys`: the compact keys a street name may stand for, the literal one first, then
  with abbreviations spelled out (``st`` may be street or saint: both are tried).
* :func:`number_key`: a house number as the index files it (``12 A`` → ``12a``, ``1番2号`` →
  ``1-2``).
* :func:`parse_text`: one line typed by a person split into street, number, postcode and
  localities; Korean road-name and lot addresses and Japanese block addresses by their own
  grammar.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product

_SPECIAL = str.maketrans({
    "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
    "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "ー": "-", "─": "-",
    "’": "'", "‘": "'", "`": "'", "´": "'",
})
_SPACES = re.compile(r"\s+")


def _latin(ch: str) -> bool:
    return ch < "\u0370" or "\u1e00" <= ch <= "\u1eff"


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Text in one comparable form: NFKC, casefolded, Latin accents off, one space between words.

    ``ー`` and the other dashes become ``-`` only between digits (``1ー2ー3``); inside a katakana
    word the long-vowel mark stays.
    """
    s = unicodedata.normalize("NFKC", text).casefold()
    if not s.isascii():
        out: list[str] = []
        base = ""
        for ch in unicodedata.normalize("NFD", s):
            if unicodedata.combining(ch):
                if base and _latin(base):
                    continue  # é → e, ä → a
            else:
                base = ch
            out.append(ch)
        s = unicodedata.normalize("NFC", "".join(out))
        s = re.sub(r"(?<=\d)[ー─−‐‑–—](?=\d)", "-", s)
        s = s.translate(_SPECIAL)
    return _SPACES.sub(" ", s).strip()


# Whole-word abbreviations (after folding, without the dot) and what they may stand for. A word
# with several meanings gives several keys; the index decides which street exists.
WORDS: dict[str, tuple[str, ...]] = {
    # English
    "st": ("street", "saint"), "str": ("street", "strasse"), "rd": ("road",),
    "ave": ("avenue",), "av": ("avenue", "avinguda", "avenida"), "blvd": ("boulevard",),
    "bd": ("boulevard",), "dr": ("drive",), "ln": ("lane",), "ct": ("court",),
    "pl": ("place", "platz", "placa", "plaza", "plads"), "sq": ("square",), "hwy": ("highway",),
    "pkwy": ("parkway",), "cres": ("crescent",), "tce": ("terrace",), "mt": ("mount",),
    # French, Catalan, Spanish, Portuguese
    "bld": ("boulevard",), "ch": ("chemin",), "imp": ("impasse",), "rte": ("route",),
    "avda": ("avinguda", "avenida"), "avgda": ("avinguda",), "c": ("carrer", "calle"),
    "cl": ("calle",), "pca": ("placa",), "pza": ("plaza",), "ctra": ("carretera",),
    "pg": ("passeig",), "ps": ("paseo", "passeig"), "r": ("rue", "rua"),
    # German, Dutch, Scandinavian
    "strasse": ("strasse",), "gt": ("gate", "gata"), "v": ("vagen", "vei"),
    # Finnish
    "k": ("katu",), "t": ("tie",), "kj": ("kuja",),
}
# Abbreviated endings of compound names, only when the word ended with a dot (or "str"):
# "Mannerheimink." → "mannerheiminkatu", "Hauptstr." → "hauptstrasse", "Storg." → "storgatan".
SUFFIXES: tuple[tuple[str, str], ...] = (
    ("str", "strasse"), ("kj", "kuja"), ("k", "katu"), ("t", "tie"), ("g", "gatan"),
    ("v", "vagen"), ("pl", "platz"),
)
_WORD = re.compile(r"[^\W_]+\.?|\d+", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_JAPANESE = re.compile(r"[\u3040-\u30ff]|丁目|番地|[都道府県]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]")


def has_cjk(text: str) -> bool:
    """Whether the text has Korean or Japanese letters (their addresses read other ways)."""
    return bool(_CJK.search(text))


@lru_cache(maxsize=200_000)
def street_keys(name: str) -> tuple[str, ...]:
    """Compact keys for a street name, the literal spelling first, then expansions.

    A key has no spaces or punctuation, so word breaks do not matter ("Haupt Straße" and
    "Hauptstraße", "세종 대로" and "세종대로"). At most eight keys are made.
    """
    s = fold(name)
    if not s:
        return ()
    if has_cjk(s):
        s = kanji_numbers(s)
    s = re.sub(r"(?<=[a-z])strasse\b", " strasse", s)
    words = _WORD.findall(s)
    literal = "".join(w.rstrip(".") for w in words)
    options: list[tuple[str, ...]] = []
    for w in words:
        dotted = w.endswith(".")
        bare = w.rstrip(".")
        choices: list[str] = [bare]
        if bare in WORDS:
            choices = [*WORDS[bare], bare]
        elif (dotted or bare.endswith("str")) and len(bare) > 3:
            for short, full in SUFFIXES:
                if bare.endswith(short) and (dotted or short == "str"):
                    choices = [bare[: -len(short)] + full, bare]
                    break
        options.append(tuple(dict.fromkeys(choices)))
    keys: list[str] = [literal]
    for combo in product(*options):
        key = "".join(combo)
        if key not in keys:
            keys.append(key)
        if len(keys) >= 8:
            break
    if _HANGUL.search(literal):  # 12번길 and 12길 are written both ways by people
        for k in list(keys):
            alt = re.sub(r"(\d+)번길$", r"\1길", k)
            if alt == k:
                alt = re.sub(r"(\d+)길$", r"\1번길", k)
            if alt != k and alt not in keys:
                keys.append(alt)
    return tuple(k for k in keys if k)


_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                 "九": 9}
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百千]+(?=丁目|番地|番|号)")


def _kanji_int(text: str) -> int:
    total, current = 0, 0
    for ch in text:
        if ch in _KANJI_DIGITS:
            current = current * 10 + _KANJI_DIGITS[ch] if current else _KANJI_DIGITS[ch]
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[ch]
            total += (current or 1) * unit
            current = 0
    return total + current


def kanji_numbers(text: str) -> str:
    """Kanji numerals before 丁目/番/号 as digits ("一丁目" → "1丁目"; 八王子 stays)."""
    return _KANJI_NUMBER.sub(lambda m: str(_kanji_int(m.group(0))), text)


@lru_cache(maxsize=200_000)
def number_key(number: str) -> str:
    """A house number as the index files it: folded, without spaces, Japanese marks as dashes.

    ``12 A`` → ``12a``; ``1番2号`` / ``1番地2`` / ``1-2`` → ``1-2``; ``110-1`` stays.
    """
    s = kanji_numbers(fold(number))
    s = s.split(",")[0].split(";")[0] if re.match(r"\d", s) else s  # "2, 2. krs" → "2"
    s = re.sub(r"(\d)\s*(?:番地|番|号の|の)\s*(?=\d)", r"\1-", s)
    s = re.sub(r"(?:番地|番|号)$", "", s)
    s = re.sub(r"[\s.,]", "", s)
    s = re.sub(r"^(?:no|nr|n°|n|#)(?=\d)", "", s)
    return s


def number_parts(key: str) -> tuple[int, str] | None:
    """(leading integer, rest) of a number key, or None when it does not start with a digit."""
    m = re.match(r"(\d+)(.*)", key)
    return (int(m.group(1)), m.group(2)) if m else None


POSTCODE = {
    "FI": r"\d{5}", "SE": r"\d{3} ?\d{2}", "DE": r"\d{5}", "AD": r"AD ?\d{3}", "KR": r"\d{5}",
    "JP": r"\d{3}-?\d{4}", "US": r"\d{5}(?:-\d{4})?", "FR": r"\d{5}", "ES": r"\d{5}",
    "NO": r"\d{4}", "DK": r"\d{4}", "AT": r"\d{4}", "CH": r"\d{4}", "NL": r"\d{4} ?[A-Z]{2}",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "PL": r"\d{2}-\d{3}", "IT": r"\d{5}",
}
_ANY_POSTCODE = r"AD ?\d{3}|\d{3}-\d{4}|\d{5}|\d{3} \d{2}"


@lru_cache(maxsize=100_000)
def postcode_key(code: str) -> str:
    """A postcode as compared: folded, no spaces or dashes (``AD500``, ``00100``, ``1000001``)."""
    return re.sub(r"[\s-]", "", fold(code).lstrip("〒"))


COUNTRY_WORDS = {
    "finland", "suomi", "finland / suomi", "sverige", "sweden", "deutschland", "germany",
    "andorra", "espana", "spain", "france", "korea", "south korea", "republic of korea",
    "대한민국", "한국", "japan", "日本", "日本国", "usa", "united states", "u.s.a.", "uk",
    "united kingdom", "norway", "norge", "denmark", "danmark", "estonia", "eesti",
}


@dataclass
class ParsedAddress:
    """What a line of text says, as candidates: the engine keeps the reading the index knows.

    ``streets`` holds (street, house number) readings, best guess first; ``localities`` the
    parts that may name a city, district or region.
    """

    streets: list[tuple[str, str | None]] = field(default_factory=list)
    postcode: str | None = None
    localities: list[str] = field(default_factory=list)
    region: str | None = None


_NUMBER = r"\d+[a-z]?(?:\s?[-/]\s?\d+[a-z]?)?"
_KR_REGION = re.compile(r".+(?:특별시|광역시|특별자치시|특별자치도|도)$")
_KR_CITY = re.compile(r".+(?:시|군|구)$")
_KR_ROAD = re.compile(r".+(?:대로|로|길)$")
_KR_GLUED = re.compile(r"^(.+(?:대로|로|길))(\d+(?:-\d+)?)$")
_KR_ROAD_TAIL = re.compile(r"\d+(?:번)?길$")
_KR_NUMBER = re.compile(r"^(?:지하\s*)?(?:산\s*)?(\d+(?:-\d+)?)(?:번지|번)?(?:\s*호)?$")
_KR_LOT = re.compile(r".+(?:동|리|가|읍|면|동\d+가)$")
_JP_PREF = re.compile(r"^(東京都|北海道|京都府|大阪府|[^\d\s]{2,3}県)")
_JP_CITY = re.compile(r"^((?:[^\d\s]+?郡)?[^\d\s]+?[市区町村](?:[^\d\s]+?区)?)")
_JP_CHOME = re.compile(
    r"^(?P<q>[^\d]*?)\s*(?P<c>\d+)\s*丁目\s*(?:(?P<b>\d+)\s*(?:番地?|-)?\s*(?P<h>\d+)?\s*号?)?")
_JP_DASH = re.compile(r"^(?P<q>[^\d]*?)\s*(?P<a>\d+)(?:\s*(?:番地?|-)\s*(?P<b>\d+))?"
                      r"(?:\s*(?:号|-)\s*(?P<c>\d+))?")


def parse_text(text: str, country: str | None = None) -> ParsedAddress:
    """Split a typed address into readings; Korean and Japanese by their own grammar."""
    s = fold(text)
    s = re.sub(r"\([^)]*\)", " ", s).strip()  # "(태평로1가)" — a reference, not the address
    if country == "KR" or (country is None and _HANGUL.search(s)):
        return _parse_korean(s)
    if country == "JP" or (country is None and _JAPANESE.search(s)):
        return _parse_japanese(s)
    return _parse_western(s, country)


def _postcode_in(s: str, country: str | None) -> tuple[str | None, str]:
    pattern = POSTCODE.get(country or "", _ANY_POSTCODE)
    m = None
    for m_ in re.finditer(rf"(?<![\w-])(?:{pattern})(?![\w-])", s, re.IGNORECASE):
        m = m_  # the last one: a house number may look like a postcode, a postcode comes late
    if m is None:
        return None, s
    return m.group(0), (s[: m.start()] + " " + s[m.end():]).strip(" ,")


def _parse_western(s: str, country: str | None) -> ParsedAddress:
    out = ParsedAddress()
    code, s = _postcode_in(s, country)
    out.postcode = code
    parts = [p.strip() for p in re.split(r"[,;\n]", s) if p.strip()]
    parts = [p for p in parts if p not in COUNTRY_WORDS]
    street_part: int | None = None
    for i, part in enumerate(parts):
        m1 = re.match(rf"^(?P<st>.*?\D)\s*(?P<no>{_NUMBER})(?:\s+(?P<rest>.*))?$", part)
        m2 = re.match(rf"^(?P<no>{_NUMBER})\s*,?\s+(?P<st>\D.*)$", part)
        if m2:
            out.streets.append((m2.group("st"), m2.group("no")))
        if m1:
            number = m1.group("no")
            rest = (m1.group("rest") or "").strip()
            letter = re.match(r"^([a-z])(?:\s+\d+)?$", rest)
            if letter:  # "12 B 5": house 12 B (a staircase, or a house 12b), flat 5
                number = f"{number} {letter.group(1)}"
            elif rest and not re.fullmatch(r"\d*", rest):
                out.localities.append(rest)  # "Street 12 Helsinki" without commas
            out.streets.append((m1.group("st").strip(" ,"), number))
        if m1 or m2:
            street_part = i
            break
    for i, part in enumerate(parts):
        if i == street_part:
            continue
        if street_part is None and i == 0:
            out.streets.append((part, None))
        out.localities.append(part)
    if street_part is None and not parts:
        return out
    return out


def _parse_korean(s: str) -> ParsedAddress:
    out = ParsedAddress()
    s = s.split(",")[0]  # "세종대로 110, 3층" — floor and room after the comma
    tokens: list[str] = []
    for tok in s.split():  # "세종대로110" → "세종대로", "110"
        m = _KR_GLUED.match(tok)
        tokens.extend([m.group(1), m.group(2)] if m else [tok])
    if tokens and re.fullmatch(r"\d{5}", tokens[0]):
        out.postcode = tokens.pop(0)
    elif tokens and re.fullmatch(r"\d{5}", tokens[-1]):
        out.postcode = tokens.pop()
    street: str | None = None
    number: str | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        m = _KR_NUMBER.match(tok)
        if street is None and i + 1 < len(tokens) and _KR_ROAD_TAIL.fullmatch(tokens[i + 1]) \
                and _KR_ROAD.match(tok):
            street = tok + tokens[i + 1]  # "중앙로 12번길" → "중앙로12번길"
            i += 2
            continue
        if street is None and (_KR_ROAD.match(tok) or _KR_LOT.match(tok)) and not m \
                and i + 1 < len(tokens) and (_KR_NUMBER.match(tokens[i + 1])
                                             or tokens[i + 1] in ("지하", "산")):
            street = tok
        elif street is not None and number is None and m:
            number = m.group(1)
        elif tok in ("지하", "산"):
            pass
        elif street is None:
            if _KR_REGION.match(tok) and out.region is None and not out.localities:
                out.region = tok
            out.localities.append(tok)
        i += 1
    if street is None and tokens:
        last = tokens[-1]
        if _KR_ROAD.match(last) or _KR_LOT.match(last):
            street = last
            out.localities = [t for t in out.localities if t != last]
    if street:
        out.streets.append((street, number))
    return out


def _parse_japanese(s: str) -> ParsedAddress:
    out = ParsedAddress()
    s = kanji_numbers(s)
    m = re.match(r"^〒?\s*(\d{3}-?\d{4})\s*", s)
    if m:
        out.postcode = m.group(1)
        s = s[m.end():]
    s = s.replace(" ", "")
    m = _JP_PREF.match(s)
    if m:
        out.region = m.group(1)
        out.localities.append(m.group(1))
        s = s[m.end():]
    m = _JP_CITY.match(s)
    if m and len(s) > m.end() and not re.match(r"\d", s[m.end():m.end() + 1] or "0"):
        out.localities.append(m.group(1))
        s = s[m.end():]
    m = _JP_CHOME.match(s)
    if m and m.group("q"):
        quarter = m.group("q")
        street = f"{quarter}{m.group('c')}丁目"
        number = "-".join(x for x in (m.group("b"), m.group("h")) if x) or None
        out.streets.append((street, number))
        out.streets.append((quarter, "-".join(x for x in (m.group("c"), m.group("b"),
                                                           m.group("h")) if x)))
        return out
    m = _JP_DASH.match(s)
    if m and m.group("q"):
        q, a, b, c = m.group("q"), m.group("a"), m.group("b"), m.group("c")
        if b and c:  # 1-2-3: chome-block-house
            out.streets.append((f"{q}{a}丁目", f"{b}-{c}"))
            out.streets.append((q, f"{a}-{b}-{c}"))
        elif b:  # 1-2: chome-block, or block-house of a quarter without chome
            out.streets.append((f"{q}{a}丁目", b))
            out.streets.append((q, f"{a}-{b}"))
        else:
            out.streets.append((f"{q}{a}丁目", None))
            out.streets.append((q, a))
        return out
    if s:
        out.streets.append((s, None))
    return out
