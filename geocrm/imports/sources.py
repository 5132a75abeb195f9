"""Turning an uploaded file into rows: encodings, spreadsheets and national-grid coordinates.

Registers live in CSV files saved by a local Excel (CP949 in Korea, Shift_JIS/CP932 in
Japan, Windows-1252 in Western Europe) and in ``.xlsx`` workbooks. Reading one as the wrong
encoding does not fail, it imports mojibake; so the encoding is *detected* (a byte-order
mark, then strict UTF-8, then charset-normalizer over the encodings such files come in),
shown to the user with sample rows, and can be overridden. Decoding is strict: a byte that
does not belong to the chosen encoding is an error naming its line, never a silent ``?``.

Coordinates published as x/y metres in a national grid (Korean registers use EPSG:5174)
are converted with pyproj from the CRS the user names. The CRS is never guessed: the
candidate Korean grids (5174/5181/5186/2097) are all plausible for the same numbers and a
wrong pick moves every point 250-300 m.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import gc
import io
import math
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geocrm.errors import ValidationError
from geocrm.params import is_number

MAX_FIELD = 10_000
SAMPLE_BYTES = 200_000  # enough for the detector; decoding itself is over the whole file

# Codec -> what the user sees. The detector only ever answers one of these.
ENCODINGS: dict[str, str] = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 little-endian (no byte-order mark)",
    "utf-16-be": "UTF-16 big-endian (no byte-order mark)",
    "cp949": "Korean (CP949 / EUC-KR)",
    "cp932": "Japanese (Shift_JIS / CP932)",
    "euc-jp": "Japanese (EUC-JP)",
    "cp1252": "Western European (Windows-1252)",
    "iso-8859-15": "Western European (ISO-8859-15)",
    "cp1250": "Central European (Windows-1250)",
    "cp1251": "Cyrillic (Windows-1251)",
    "gb18030": "Chinese, simplified (GB18030)",
    "big5": "Chinese, traditional (Big5)",
}
# The encodings real spreadsheet exports come in, which the detector chooses among first:
# a wider set lets it read a three-word Finnish file as Big5 or GB18030 (which decode
# almost any bytes). The others are asked only when none of these fits.
_DETECT = ["utf_8", "cp949", "cp932", "euc_jp", "cp1252"]
# charset-normalizer's names -> ours (the Microsoft supersets: EUC-KR text is valid CP949,
# Shift_JIS text is valid CP932, so a file is always read with the wider table).
_CANONICAL = {
    "utf_8": "utf-8", "ascii": "utf-8", "utf_16": "utf-16", "utf_16_le": "utf-16",
    "utf_16_be": "utf-16", "cp949": "cp949", "euc_kr": "cp949", "johab": "cp949",
    "cp932": "cp932", "shift_jis": "cp932", "shift_jis_2004": "cp932",
    "shift_jisx0213": "cp932", "euc_jp": "euc-jp", "euc_jis_2004": "euc-jp",
    "euc_jisx0213": "euc-jp", "cp1252": "cp1252", "latin_1": "cp1252",
    "iso8859_15": "iso-8859-15", "cp1250": "cp1250", "cp1251": "cp1251",
    "gb18030": "gb18030", "gb2312": "gb18030", "gbk": "gb18030", "big5": "big5",
    "big5hkscs": "big5", "cp950": "big5",
}


@dataclass
class Detected:
    """The encoding a file is read in, and how we came to it (shown on the preview)."""

    encoding: str
    how: str  # "byte-order mark" / "valid UTF-8" / "detected" / "chosen by you"
    # Other encodings the whole file also reads as, plausibly (a short file says little:
    # the preview names them so the user can pick one).
    alternatives: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ENCODINGS.get(self.encoding, self.encoding)


@dataclass
class Table:
    """A file's header and rows as text, with what was read how."""

    headers: list[str]
    rows: list[list[str]]
    format: str  # "csv" / "xlsx"
    detected: Detected | None = None  # CSV only
    sheet: str | None = None  # xlsx only: the sheet read
    sheets: list[str] = field(default_factory=list)  # xlsx only: every sheet, in order
    notes: list[str] = field(default_factory=list)
    #: Data rows in the whole file, when only a head was read (``rows`` is then shorter).
    total: int | None = None


# -- encodings ----------------------------------------------------------------------------
def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte is NUL (ASCII-heavy UTF-16)."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(data: bytes) -> Detected:
    """The encoding of a text file: BOM, then strict UTF-8, then charset-normalizer, checked
    against what the text then says.

    Plain ASCII is reported as UTF-8. The answer is always a key of :data:`ENCODINGS`.
    A short file gives the detector little to go on: one Shift_JIS row of kanji decodes
    as Korean syllables nobody writes, or as Windows-1252 punctuation soup. So each
    encoding that decodes the file is scored by how usual its characters are in the
    language it is for (:func:`plausibility`); one that reads clearly better than the
    detector's pick wins, and the other plausible readings are listed as
    ``alternatives``.
    """
    if data.startswith(codecs.BOM_UTF8):
        return Detected("utf-8-sig", "byte-order mark")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Detected("utf-16", "byte-order mark")
    # Decoding must hold for the whole file, so the detector sees a sample cut on a line end.
    sample = data[:SAMPLE_BYTES]
    if len(data) > SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    nul = _utf16_without_bom(data)
    if nul is not None and plausibility(sample.decode(nul, "replace"), nul) >= _PLAUSIBLE:
        return Detected(nul, "detected (UTF-16 without byte-order mark)")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Valid UTF-8 stays UTF-8 (other encodings' bytes rarely are), but a short Korean
        # or Japanese file can be: its plausible reading is named.
        return Detected("utf-8", "valid UTF-8",
                        _alternatives(data, sample, "utf-8", _CJK_CANDIDATES))
    from charset_normalizer import from_bytes

    picked: str | None = None
    for match in from_bytes(sample, cp_isolation=_DETECT):
        encoding = _CANONICAL.get(match.encoding)
        if encoding is not None and _decodes(data, encoding):
            picked = encoding
            break
    if picked is None:
        best = from_bytes(sample).best()  # none of the usual ones fits: ask without limits
        if best is not None and _CANONICAL.get(best.encoding) and _decodes(
                data, _CANONICAL[best.encoding]):
            picked = _CANONICAL[best.encoding]
    if picked in ("utf-16", "utf-16-le", "utf-16-be") and nul is None:
        picked = None  # UTF-16 with neither a byte-order mark nor ASCII: rare, scored below
    scores = {enc: plausibility(text, enc) for enc in _READ_AS
              if (text := _decoded(sample, enc)) is not None and _decodes(data, enc)}
    if nul is not None:
        scores[nul] = plausibility(sample.decode(nul, "replace"), nul)
    if picked is not None:
        scores.setdefault(picked, plausibility(sample.decode(picked, "replace"), picked))
    if not scores:
        return Detected("cp1252", "fallback: no encoding fits the whole file")
    chosen = picked
    best_other = max(scores, key=lambda e: (scores[e], e == picked))
    if chosen is None or (scores[best_other] >= _PLAUSIBLE
                          and scores[best_other] > scores[chosen] + _CLEARLY_BETTER):
        chosen = best_other
    others = [e for e in sorted(scores, key=lambda e: -scores[e])
              if e != chosen and scores[e] >= _PLAUSIBLE]
    return Detected(chosen, "detected", others)


# Encodings a file is scored in besides the detector's pick, and the thresholds: a reading
# is plausible at 0.75 (three in four non-ASCII characters usual for its language) and
# replaces the detector's pick when it scores more than 0.25 higher.
_READ_AS = ("cp949", "cp932", "euc-jp", "cp1252")
_CJK_CANDIDATES = ("cp949", "cp932")
_PLAUSIBLE, _CLEARLY_BETTER = 0.75, 0.25
_SCORED_CHARS = 4000


def _decoded(sample: bytes, encoding: str) -> str | None:
    try:
        return sample.decode(encoding)
    except UnicodeDecodeError:
        return None


def _alternatives(data: bytes, sample: bytes, chosen: str,
                  candidates: tuple[str, ...]) -> list[str]:
    """Other encodings (of ``candidates``) the whole file reads as, plausibly."""
    if data.isascii():
        return []
    mine = plausibility(sample.decode(chosen, "replace"), chosen)
    return [enc for enc in candidates
            if (text := _decoded(sample, enc)) is not None
            and (score := plausibility(text, enc)) >= _PLAUSIBLE and score >= mine
            and _decodes(data, enc)]


def _jis_level_1(char: str) -> bool:
    """A kanji of JIS X 0208 level 1 (the common ones; Shift_JIS lead bytes 0x88-0x98)."""
    try:
        return 0x88 <= char.encode("cp932")[0] <= 0x98
    except UnicodeEncodeError:
        return False


def _ks_x_1001(char: str) -> bool:
    """A character of KS X 1001 (EUC-KR): the 2,350 Hangul syllables Korean text uses; the
    8,822 others CP949 adds are what Shift_JIS bytes read as Korean turn into."""
    try:  # Python's EUC-KR spells the others as 8-byte jamo sequences
        return len(char.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


@functools.lru_cache(maxsize=65536)
def _usual(char: str, language: str) -> float:
    """How usual ``char`` (not ASCII) is in text of ``language``, 0..1."""
    cp = ord(char)
    cjk_punct = 0x3000 <= cp <= 0x303F or 0xFF01 <= cp <= 0xFF5E
    if language == "ko":
        if 0xAC00 <= cp <= 0xD7A3:
            return 1.0 if _ks_x_1001(char) else 0.0
        if 0x4E00 <= cp <= 0x9FFF and _ks_x_1001(char):
            return 0.25  # hanja happen in Korean registers, rarely
        return 0.5 if cjk_punct or cp == 0xB7 else 0.0
    if language == "ja":
        if 0x3041 <= cp <= 0x30FF:  # hiragana, katakana
            return 1.0
        if 0x4E00 <= cp <= 0x9FFF:
            return 1.0 if _jis_level_1(char) else 0.5
        if 0xFF66 <= cp <= 0xFF9F:  # half-width katakana (bank and postal files)
            return 0.75
        return 0.5 if cjk_punct else 0.0
    if language == "latin":
        if char.isalpha() and cp < 0x0250:
            return 1.0
        return 0.5 if char in "€£°§©®«»‘’“”…–—·×" else 0.0
    # UTF-16/UTF-8: any script, but random bytes read as UTF-16 are rare ideographs,
    # Hangul syllables outside KS X 1001, private use.
    if 0xAC00 <= cp <= 0xD7A3:
        return 1.0 if _ks_x_1001(char) else 0.25
    if 0x4E00 <= cp <= 0x9FFF:
        return 1.0 if _jis_level_1(char) or _ks_x_1001(char) else 0.5
    if 0x3041 <= cp <= 0x30FF or (char.isalpha() and cp < 0x3000):
        return 1.0
    return 0.0 if cp < 0xA0 or 0xE000 <= cp <= 0xF8FF else 0.5


_LANGUAGE = {"cp949": "ko", "cp932": "ja", "euc-jp": "ja", "cp1252": "latin",
             "iso-8859-15": "latin", "cp1250": "latin"}
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def plausibility(text: str, encoding: str) -> float:
    """0..1: how usual the non-ASCII characters of ``text`` are for the language of
    ``encoding`` (Korean for CP949, Japanese for CP932/EUC-JP, Latin letters for the
    Western code pages, any script for UTF-*). Mojibake scores low: Shift_JIS read as
    CP949 gives Hangul syllables nobody writes (outside KS X 1001), CJK read as
    Windows-1252 gives runs of symbols and letters no Western word has (three non-ASCII
    characters in a row count as unusual), and a UTF-8 "Müller" read as CP949 puts a
    syllable inside a Latin word (a CJK character touching an ASCII letter counts as
    unusual). Text without non-ASCII characters scores 1.
    """
    language = _LANGUAGE.get(encoding, "any")
    total = score = 0.0
    for run in _NON_ASCII.finditer(text):
        chars = run.group()
        if language == "latin" and len(chars) >= 3:
            total += len(chars)
        elif language in ("ko", "ja"):
            first, last = run.start(), run.end()
            glued_left = first > 0 and text[first - 1].isalpha()
            glued_right = last < len(text) and text[last].isalpha()
            for i, char in enumerate(chars):
                glued = (i == 0 and glued_left) or (i == len(chars) - 1 and glued_right)
                score += 0.0 if glued else _usual(char, language)
            total += len(chars)
        else:
            score += sum(_usual(char, language) for char in chars)
            total += len(chars)
        if total >= _SCORED_CHARS:
            break
    return 1.0 if total == 0 else score / total


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def decode(data: bytes, encoding: str) -> str:
    """The file's text in ``encoding``, strictly: a bad byte is an error naming its line."""
    if encoding not in ENCODINGS:
        raise ValidationError("encoding", f"{encoding!r} is not one we read "
                              f"({', '.join(ENCODINGS)})")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        label = ENCODINGS.get(encoding, encoding)
        raise ValidationError(
            "encoding", f"the file is not {label}: line {line} has bytes "
            f"{data[exc.start:exc.end + 1].hex(' ')} that are not; choose another encoding",
            row=None) from exc


# -- CSV ----------------------------------------------------------------------------------
def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and non-blank rows of CSV text, whatever its delimiter (, ; tab |)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ValidationError("file", "is empty")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:20_000].split("\n", 1)[0],
                                           delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(MAX_FIELD * 10)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        headers = [h.strip() for h in next(reader)]
        rows = [r for r in reader if any(map(str.strip, r))]  # blank rows dropped, in C
    except csv.Error as exc:
        raise ValidationError("file", f"is not a readable CSV file ({exc})") from exc
    return headers, rows


def check_headers(headers: list[str], rows: list[list[str]]) -> None:
    """Refuse blank or repeated header names, and a file with no data rows."""
    seen: dict[str, int] = {}
    for i, h in enumerate(headers, start=1):
        if not h:
            raise ValidationError("header", f"column {i} has no name", row=1)
        if h.lower() in seen:
            raise ValidationError(
                "header", f"column {i} repeats the name {h!r} (column {seen[h.lower()]})", row=1
            )
        seen[h.lower()] = i
    if not rows:
        raise ValidationError("file", "has a header but no data rows")


# -- xlsx ---------------------------------------------------------------------------------
def is_xlsx(data: bytes, filename: str = "") -> bool:
    """An Office Open XML workbook (a zip with xl/workbook.xml), whatever its name."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "xl/workbook.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


def is_xlsx_file(path: Path) -> bool:
    """:func:`is_xlsx` for a file on disk, reading only its zip directory."""
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            return False
        try:
            with zipfile.ZipFile(fh) as z:
                return "xl/workbook.xml" in z.namelist()
        except zipfile.BadZipFile:
            return False


def _cell_text(value: Any) -> str:
    if type(value) is str:  # most cells: no other test
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # 12345.0 is how Excel stores the id 12345
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


def read_xlsx(source: bytes | str | Path, sheet: str | None = None,
              limit: int | None = None) -> Table:
    """Header and rows of one sheet (the first with data rows unless ``sheet`` names one).

    ``source`` is the workbook's bytes or its path on disk (the upload store's file, so a
    preview never loads the file itself). openpyxl's read-only mode streams the sheet's XML
    and ``iter_rows(values_only=True)`` gives plain tuples, so no cell object graph is built.
    With ``limit`` only the first ``limit`` data rows are kept (a preview: memory bounded by
    the head, whatever the file's size) and ``total`` is the sheet's row count, from its
    stated dimension or else counted without keeping the rows. Nothing is cached: a process
    that kept whole tables of recent workbooks (as it once did) kept 100k rows per import.
    """
    # A file object, not a path: openpyxl refuses paths not named .xlsx (uploads are .upload).
    handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source).open("rb")
    # The import turns the cyclic collector off for its own rows, but openpyxl's XML parsing
    # does make cycles: without the collector a 100,000-row workbook grew the worker by 1 GB
    # and took minutes. It runs here whatever the caller did.
    collecting = gc.isenabled()
    gc.enable()
    try:
        with handle:
            return _read_xlsx(handle, sheet, limit)
    finally:
        if not collecting:
            gc.disable()


def _read_xlsx(handle: Any, sheet: str | None, limit: int | None) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors for broken files
        raise ValidationError("file", f"is not a readable .xlsx workbook ({exc})") from exc
    try:
        names = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            raise ValidationError("sheet", f"the workbook has no sheet {sheet!r} "
                                  f"(it has {', '.join(names)})")
        notes: list[str] = []
        for name in [sheet] if sheet else names:
            worksheet = book[name]
            rows_iter = worksheet.iter_rows(values_only=True)
            header_cells = next(rows_iter, None)
            if header_cells is None or not any(c not in (None, "") for c in header_cells):
                continue
            headers = [_cell_text(c) for c in header_cells]
            while headers and not headers[-1]:
                headers.pop()
            width = len(headers)
            rows: list[list[str]] = []
            more = False
            for cells in rows_iter:
                row = [_cell_text(c) for c in cells[:width]]
                if any(row):
                    if limit is not None and len(rows) >= limit:
                        more = True
                        break
                    rows.append(row)
            if not rows and sheet is None:
                continue  # a title or notes sheet: the first sheet with data rows is read
            total = len(rows)
            if more:
                stated = worksheet.max_row  # the sheet's <dimension>, when the writer gave one
                total = (stated - 1 if stated else
                         len(rows) + 1 + sum(1 for _ in rows_iter))
            if len(names) > 1:
                notes.append(f"The workbook has {len(names)} sheets ({', '.join(names)}); "
                             f"sheet {name!r} was read.")
            return Table(headers, rows, "xlsx", sheet=name, sheets=names, notes=notes,
                         total=max(total, len(rows)))
        raise ValidationError("file", "is empty (no sheet has a header row)")
    finally:
        book.close()


# -- any file -----------------------------------------------------------------------------
def read_source(data: bytes, filename: str = "", *, encoding: str | None = None,
                sheet: str | None = None, limit: int | None = None) -> Table:
    """Header and rows of an uploaded CSV or .xlsx file; ``encoding`` overrides detection.

    ``limit`` keeps only a workbook's first rows (:func:`read_xlsx`); a CSV's head is cut
    by bytes before it gets here.

    Raises :class:`ValidationError` on an empty file, a file with no data rows, blank or
    repeated header names, bytes that do not fit the encoding, and an old binary ``.xls``.
    """
    if not data.strip():
        raise ValidationError("file", "is empty")
    if is_xlsx(data, filename):
        table = read_xlsx(data, sheet, limit)
    elif data.startswith(b"\xd0\xcf\x11\xe0") or filename.lower().endswith(".xls"):
        raise ValidationError("file", "is an old Excel .xls workbook: save it as .xlsx or CSV")
    else:
        detected = (Detected(encoding, "chosen by you") if encoding else detect_encoding(data))
        headers, rows = parse_csv(decode(data, detected.encoding))
        table = Table(headers, rows, "csv", detected=detected)
        if detected.how.startswith("fallback"):
            table.notes.append("No encoding fits every byte of the file; it was read as "
                               "Windows-1252. Check the names below and choose the encoding.")
        elif detected.encoding == "cp1252" and not encoding:
            table.notes.append("The file is not UTF-8; it was read as Windows-1252 "
                               "(Western European). Choose another encoding if names look "
                               "wrong.")
    check_headers(table.headers, table.rows)
    return table


# -- national-grid coordinates ------------------------------------------------------------
GRID_LAT = "latitude from x/y"
GRID_LON = "longitude from x/y"


def check_crs(crs: str | None, x: str, y: str) -> Any:
    """The pyproj CRS the user named for the x/y columns; a clear error when none or unknown."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    text = (crs or "").strip()
    if not text:
        raise ValidationError(
            "crs", f"x/y columns are mapped ({x!r}, {y!r}) but no coordinate system is given: "
            "enter the EPSG code the file's publisher states (Korean public registers: "
            "EPSG:5174). It is never guessed: a wrong grid moves points by hundreds of metres")
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise ValidationError("crs", f"{crs!r} is not a known coordinate system") from exc


def project_grid(
    headers: list[str],
    rows: list[list[str]],
    mapping: Mapping[str, str],
    crs: str | None,
    reject: Callable[[int, str, str, str], None],
) -> tuple[list[str], list[list[str]], dict[str, str]]:
    """Convert mapped x/y columns in ``crs`` to latitude/longitude columns.

    Returns the headers and rows with two added columns (:data:`GRID_LAT`, :data:`GRID_LON`)
    and the mapping with ``lat``/``lon`` pointing at them, ``x``/``y`` removed. A mapping
    without x/y comes back unchanged. Rows whose x or y is not a number, or whose point
    falls outside the area the CRS is made for, are passed to ``reject(row, field, reason,
    value)``; rows with both blank get blank coordinates.
    """
    clean = {k: v for k, v in mapping.items() if v}
    x_col, y_col = clean.pop("x", None), clean.pop("y", None)
    if x_col is None and y_col is None:
        return headers, rows, clean
    if x_col is None or y_col is None:
        raise ValidationError("mapping", "map both x and y, or neither")
    if "lat" in clean or "lon" in clean:
        raise ValidationError("mapping", "map either latitude/longitude or x/y, not both")
    for col in (x_col, y_col):
        if col not in headers:
            raise ValidationError("mapping", f"x/y is mapped to {col!r}, not in the file")
    target = check_crs(crs, x_col, y_col)
    import numpy as np
    from pyproj import Transformer

    xi, yi = headers.index(x_col), headers.index(y_col)
    xs = np.full(len(rows), np.nan)
    ys = np.full(len(rows), np.nan)
    for n, cells in enumerate(rows):
        x = (cells[xi] if xi < len(cells) else "").strip().replace(",", ".")
        y = (cells[yi] if yi < len(cells) else "").strip().replace(",", ".")
        if not x and not y:
            continue
        if not x or not y:
            reject(n + 2, "y" if x else "x", "is missing while the other coordinate is given",
                   "")
            continue
        try:
            xs[n], ys[n] = float(x), float(y)
        except ValueError:
            bad, value = ("x", x) if not is_number(x) else ("y", y)
            reject(n + 2, bad, "is not a number", value[:200])
            continue
        if not (math.isfinite(xs[n]) and math.isfinite(ys[n])):
            reject(n + 2, "x", "is not a finite number", x)
            xs[n] = ys[n] = np.nan
    lons, lats = Transformer.from_crs(target, "EPSG:4326", always_xy=True).transform(xs, ys)
    area = target.area_of_use
    out_rows = []
    name = target.to_string()
    for n, cells in enumerate(rows):
        lat, lon = lats[n], lons[n]
        if math.isnan(xs[n]):
            out_rows.append([*cells, "", ""])
            continue
        if not (math.isfinite(lat) and math.isfinite(lon)) or (area is not None and not (
                area.west - 1 <= lon <= area.east + 1 and area.south - 1 <= lat <= area.north + 1)):
            reject(n + 2, "x", f"{cells[xi]}, {cells[yi]} in {name} falls outside the area "
                   f"that coordinate system is made for ({area.name if area else 'unknown'}); "
                   "is it the right CRS?", f"{cells[xi]}")
            out_rows.append([*cells, "", ""])
            continue
        out_rows.append([*cells, f"{lat:.7f}", f"{lon:.7f}"])
    clean["lat"], clean["lon"] = GRID_LAT, GRID_LON
    return [*headers, GRID_LAT, GRID_LON], out_rows, clean

