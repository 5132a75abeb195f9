"""The one rule for comparing business names and addresses, in every script.

A *key* is what two spellings of the same business have in common: Unicode NFKC (which
also width-folds Japanese — half-width ｶﾀｶﾅ to full-width, full-width ＡＢＣ１ to ASCII — and
opens the enclosed ㈜/㈱ into (주)/(株)), case folding (Ø→ø, ß→ss, Σ→σ), accents dropped
from Latin letters only (é→e, but が keeps its dakuten and й stays й), punctuation to
spaces, and legal-form words removed in the languages our customers use (주식회사, (주),
株式会社, (株), 有限会社, Inc, LLC, Ltd, GmbH, Oy, Ab …). Every script is kept: a Korean or
Japanese name has a key of its own instead of the empty string the old ASCII-only rule gave
it, which made any two CJK businesses within 50 m "duplicates".

Similarity of two keys comes from rapidfuzz (plain, word-order-free and space-free ratios,
the best of them), so "ラーメン 一蘭" and "ラーメン一蘭" or "Bakery Itä" and "Itä Bakery" are
alike, and names that differ only by a store number ("Family Dollar 8406" / "… 8407") never
are. The duplicate finder, the import and the account search all use these functions; the
search compares the stored keys (``name_key``/``address_key``, recomputed by migration 0009),
so it is case-insensitive in every script on SQLite too, whose ``lower()`` is ASCII-only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, func, or_

from geocrm.models import Account

#: The key columns' sizes (NFKC may lengthen a text: "㈱" is "(株)").
NAME_KEY_MAX, ADDRESS_KEY_MAX = 200, 300
#: Names at least this alike (0..1) count as the same business where place or ids agree.
SIMILAR = 0.85

# Legal forms written as separate words (compared after case folding).
_LEGAL_WORDS = frozenset("""
    inc incorporated llc llp lp ltd limited co corp corporation company plc pte pty
    gmbh mbh ag kg ohg ug ev gbr se kgaa
    oy oyj ab abp as asa aps ky tmi ay hf ehf
    sa sas sarl srl spa bv nv the
    ооо оао зао пао ао ип
""".split())
# Multi-word legal forms, matched on the space-separated key.
_LEGAL_PHRASES = ("gmbh co kg", "e v", "a s", "co ltd", "co kg", "k k", "y k")
_PHRASE_STARTS = frozenset(p.split()[0] for p in _LEGAL_PHRASES)
# Korean and Japanese legal forms, written with or without spaces around them (after NFKC:
# ㈜ is "(주)", ㈱ is "(株)", ㈲ is "(有)").
_CJK_LEGAL = re.compile("|".join(re.escape(w) for w in sorted((
    "주식회사", "유한회사", "유한책임회사", "합자회사", "합명회사", "사단법인", "재단법인",
    "(주)", "(유)", "(사)", "(재)", "(합)",
    "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "一般社団法人", "一般財団法人",
    "社団法人", "財団法人", "(株)", "(有)", "(合)", "(社)", "(財)",
), key=len, reverse=True)))
_PUNCT = re.compile(r"[^\w\s]|_")

_STREET = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd",
    "drive": "dr", "strasse": "str", "katu": "k", "tie": "t", "gatan": "g", "vagen": "v",
    "north": "n", "south": "s", "east": "e", "west": "w",
}  # keys are folded first: "Straße" is "strasse", "vägen" is "vagen"


def _latin_accent_table() -> dict[int, str | None]:
    """é→e, ü→u, å→a, ø stays (it has no accent to drop): every precomposed Latin letter
    mapped to its base, and the combining diacritics block deleted. Other scripts' marks
    (が's dakuten, й's breve) are not in it: they are part of those letters."""
    table: dict[int, str | None] = {cp: None for cp in range(0x0300, 0x0370)}
    for cp in (*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)):
        decomposed = unicodedata.normalize("NFD", chr(cp))
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base and base != chr(cp):
            table[cp] = base
    return table


_LATIN_ACCENTS = _latin_accent_table()


def fold(text: str | None) -> str:
    """NFKC, case folded, Latin accents dropped, punctuation to single spaces: a search form."""
    if not text:
        return ""
    if text.isascii():
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKC", text).casefold().translate(_LATIN_ACCENTS)
        # casefold can leave text that NFKC would still change; settle it.
        folded = unicodedata.normalize("NFKC", folded)
    return " ".join(_PUNCT.sub(" ", folded).split())


@functools.lru_cache(maxsize=65536)  # imports see chains with one name in many places
def normalise_name(name: str | None) -> str:
    """The comparison key of a business name; ``""`` only for a name with no letters or digits.

    A name that is nothing but a legal form ("Company", "주식회사") keeps it, so it does not
    collapse into the empty key every such name would share.
    """
    if not name:
        return ""
    if name.isascii():
        key = fold(name)
    else:
        key = fold(_CJK_LEGAL.sub(" ", unicodedata.normalize("NFKC", name)))
    words = key.split()
    if _PHRASE_STARTS.intersection(words):
        joined = f" {key} "
        for phrase in _LEGAL_PHRASES:
            joined = joined.replace(f" {phrase} ", " ")
        words = joined.split()
    kept = [w for w in words if w not in _LEGAL_WORDS]
    return (" ".join(kept) or key or fold(name))[:NAME_KEY_MAX]


@functools.lru_cache(maxsize=65536)  # registers repeat street addresses (one per floor, shop...)
def normalise_address(address: str | None) -> str | None:
    """The comparison key of an address: the folded text with common street words shortened."""
    key = fold(address)
    return " ".join(_STREET.get(w, w) for w in key.split())[:ADDRESS_KEY_MAX] or None


# Hiragana to katakana (ぁ..ゖ and ゝゞ are katakana's code points minus 0x60): フリガナ and
# ふりがな are one reading.
_HIRAGANA_TO_KATAKANA = {cp: cp + 0x60 for cp in (*range(0x3041, 0x3097), 0x309D, 0x309E)}
# Legal forms as a reading writes them (株式会社 is カブシキガイシャ, or カ) in bank style):
# Japanese sorting leaves them out, so カブシキガイシャ ヤマダ sorts under ヤ.
_KANA_FORMS = "カブシキガイシャ|ユウゲンガイシャ|ゴウドウガイシャ"
_KANA_LEGAL = re.compile(rf"^(?:{_KANA_FORMS}|カ\)|\(カ\)|ユ\)|\(ユ\))"
                         rf"|(?:{_KANA_FORMS}|\(カ|\(ユ)$")
_KANA = re.compile("[\u3041-\u30ff]")


@functools.lru_cache(maxsize=65536)
def normalise_reading(reading: str | None) -> str | None:
    """The sort and search key of a reading (フリガナ): NFKC (half-width ｶﾅ to full width),
    case folded, hiragana as katakana, legal forms, spaces and punctuation (・) dropped.

    So "ヤマダ ショウテン", "やまだしょうてん" and "ﾔﾏﾀﾞ ｼｮｳﾃﾝ" are one key, and a list ordered
    by it is in the kana (gojūon) order Japanese readers expect.
    """
    if not reading:
        return None
    text = unicodedata.normalize("NFKC", reading).casefold().translate(_HIRAGANA_TO_KATAKANA)
    text = "".join(text.split())
    text = _KANA_LEGAL.sub("", text) or text
    key = _PUNCT.sub("", text).replace("・", "")
    return key[:NAME_KEY_MAX] or None


def search_key(text: str | None) -> str:
    """What a search term and the stored search column are compared in (see :func:`fold`)."""
    return fold(text)


def _numbers(key: str) -> set[str]:
    return {w for w in key.split() if w.isdigit()}


def name_similarity(a: str, b: str) -> float:
    """0..1 for two *keys*: the best of the plain, word-order-free and space-free ratios.

    Names with different store numbers score 0: they are two branches, not one business.
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    na, nb = _numbers(a), _numbers(b)
    if na and nb and na != nb:
        return 0.0
    best = max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b),
               fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")))
    return round(best / 100.0, 4)


class SimilarityTable:
    """:func:`name_similarity` for many pairs of ``keys`` at once, for the duplicate finder.

    The same rule (identical keys 1, empty 0, different store numbers 0, else the best of
    the three ratios), but each ratio runs over all pairs in rapidfuzz's C++ ``cpdist``:
    the finder scores hundreds of thousands of pairs from its blocks, where a Python call
    per pair would cost seconds. The per-key facts are computed once, for many batches.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = keys
        codes: dict[str, int] = {}
        self.key_code = np.fromiter((codes.setdefault(k, len(codes)) for k in keys), np.int64,
                                    len(keys))
        numbers: dict[str, int] = {"": 0}
        self.number_code = np.fromiter(
            (numbers.setdefault(" ".join(sorted(_numbers(k))), len(numbers)) for k in keys),
            np.int64, len(keys))
        self.empty = np.fromiter((not k for k in keys), bool, len(keys))

    def __call__(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The similarity of ``keys[a[i]]`` and ``keys[b[i]]``, for every ``i``."""
        ia, ib = np.asarray(a, dtype=np.intp), np.asarray(b, dtype=np.intp)
        out = np.zeros(len(ia), dtype=np.float64)
        na, nb = self.number_code[ia], self.number_code[ib]
        scored = ~(self.empty[ia] | self.empty[ib]) & ~((na != 0) & (nb != 0) & (na != nb))
        same = scored & (self.key_code[ia] == self.key_code[ib])
        todo = np.flatnonzero(scored & ~same)
        if len(todo):
            left = [self.keys[i] for i in ia[todo]]
            right = [self.keys[i] for i in ib[todo]]
            best = np.maximum(
                process.cpdist(left, right, scorer=fuzz.ratio, dtype=np.float64),
                process.cpdist(left, right, scorer=fuzz.token_sort_ratio, dtype=np.float64))
            best = np.maximum(best, process.cpdist(
                [s.replace(" ", "") for s in left], [s.replace(" ", "") for s in right],
                scorer=fuzz.ratio, dtype=np.float64))
            out[todo] = np.round(best / 100.0, 4)
        out[same] = 1.0
        return out


def name_similarities(keys: Sequence[str], a: npt.ArrayLike,
                      b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """:func:`name_similarity` of ``keys[a[i]]`` and ``keys[b[i]]`` for many pairs at once
    (see :class:`SimilarityTable`)."""
    return SimilarityTable(keys)(a, b)


@functools.lru_cache(maxsize=65536)
def _shape(key: str) -> tuple[frozenset[str], frozenset[str], frozenset[str], str]:
    """What :func:`similar_names` asks of one key, worked out once per key: its characters,
    its store numbers, its words and its space-free form (a file's chains and common names
    come back in thousands of pairs)."""
    return (frozenset(key), frozenset(_numbers(key)), frozenset(key.split()),
            key.replace(" ", ""))


#: A ratio (0..100) below this cannot round to :data:`SIMILAR` (``name_similarity`` rounds
#: to four places), so rapidfuzz may stop early on a pair that scores less.
_RATIO_CUTOFF = SIMILAR * 100 - 0.01


def similar_names(a: str, b: str) -> bool:
    """Two keys that plausibly name the same business: alike, one the other plus words, or
    half their words shared.

    Containment needs whole words ("cafe" in "cafe regatta") or, for scripts written without
    spaces, at least two characters ("一蘭" in "ラーメン一蘭"), so a single letter never matches.
    Names with different store numbers are two branches, never alike.

    The same verdict as ``name_similarity(a, b) >= SIMILAR`` or the containment and shared
    word tests, in the order that settles most pairs soonest: an import asks it for every
    other name at a row's address, and most of those are other businesses. Keys with no
    character in common have no ratio above zero and cannot contain each other.
    """
    if not a or not b:
        return False
    if a == b:
        return True
    chars_a, numbers_a, words_a, solid_a = _shape(a)
    chars_b, numbers_b, words_b, solid_b = _shape(b)
    if numbers_a and numbers_b and numbers_a != numbers_b:
        return False
    if chars_a.isdisjoint(chars_b):
        return False
    for score in (fuzz.ratio(a, b, score_cutoff=_RATIO_CUTOFF),
                  fuzz.token_sort_ratio(a, b, score_cutoff=_RATIO_CUTOFF),
                  fuzz.ratio(solid_a, solid_b, score_cutoff=_RATIO_CUTOFF)):
        if score and round(score / 100.0, 4) >= SIMILAR:
            return True
    if len(a) > len(b):
        a, b, solid_a, solid_b = b, a, solid_b, solid_a
    if f" {a} " in f" {b} ":
        return True
    if len(words_a & words_b) / len(words_a | words_b) >= 0.5:  # half the words, any order
        return True
    return len(a) >= 2 and not a.isascii() and solid_a in solid_b


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def account_search(q: str) -> ColumnElement[bool]:
    """The one "name or address contains" condition of the account list, map, API and segments.

    Case-insensitive in every script on both engines: besides ``lower()`` (ASCII-only on
    SQLite) it compares the stored keys, which are case folded in Python (Ølhus, ΣΟΦΙΑ,
    Москва, ＡＢＣ) and accent-free for Latin ("cafe" finds "Café").
    """
    text = q.strip()
    like = f"%{_like_escape(text.lower())}%"
    conds: list[ColumnElement[bool]] = [
        func.lower(Account.name).like(like, escape="\\"),
        func.lower(Account.address).like(like, escape="\\"),
    ]
    name_key = normalise_name(text)
    if name_key:
        conds.append(Account.name_key.like(f"%{name_key}%"))
    address_key = normalise_address(text)
    if address_key:
        conds.append(Account.address_key.like(f"%{address_key}%"))
    reading = normalise_reading(text)
    if reading and not text.isascii():
        # A reading typed in either kana finds the reading, and a name written in katakana.
        pattern = f"%{_like_escape(reading)}%"
        conds.append(Account.reading_key.like(pattern, escape="\\"))
        if _KANA.search(reading):
            conds.append(Account.name_key.like(pattern, escape="\\"))
    elif reading:
        conds.append(Account.reading_key.like(f"%{_like_escape(reading)}%", escape="\\"))
    return or_(*conds)


def reading_order() -> list[ColumnElement[Any]]:
    """The order of account lists: by reading where there is one (Japanese names sort by
    their フリガナ, not by their kanji's code points), else by name; the id breaks ties."""
    return [func.coalesce(Account.reading_key, Account.name), Account.id]
