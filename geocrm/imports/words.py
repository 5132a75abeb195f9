"""The import's words in the reader's language: counts, statuses, duplicate rules and
outcomes, and the sentences the file reader and the row checks write.

The reader, the matcher and the row checks run in a request, a CLI or a test, and keep their
findings as plain English (the reject report is a file people pass around); the pages put
them into words here, when drawn. A sentence of a known form is translated with its values
kept; anything else is shown as it is, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import gettext, lazy_gettext

#: Counts, statuses, rules and target fields shown as words.
WORDS: dict[str, Any] = {
    "rows": lazy_gettext("rows"),
    "inserted": lazy_gettext("inserted"),
    "updated": lazy_gettext("updated"),
    "unchanged": lazy_gettext("unchanged"),
    "flagged_missing": lazy_gettext("flagged as gone"),
    "unflagged": lazy_gettext("back from gone"),
    "rejected": lazy_gettext("rejected"),
    "duplicates": lazy_gettext("duplicates"),
    "conflicts": lazy_gettext("conflicts"),
    "to_review": lazy_gettext("to review"),
    "committed": lazy_gettext("imported"),
    "name_within_50m": lazy_gettext("same name within 50 m"),
    "address": lazy_gettext("same address"),
    "merged_into": lazy_gettext("merged into another account"),
    "same_address_other_name": lazy_gettext("same address, another name"),
    "external_id": lazy_gettext("external id"),
    "name": lazy_gettext("name"),
    "name_reading": lazy_gettext("reading (furigana)"),
    "street": lazy_gettext("street"),
    "housenumber": lazy_gettext("house number"),
    "building": lazy_gettext("building, floor, unit"),
    "district": lazy_gettext("district (eup/myeon/dong, chō)"),
    "city": lazy_gettext("city"),
    "region": lazy_gettext("region (province, prefecture, state)"),
    "postcode": lazy_gettext("postcode"),
    "country": lazy_gettext("country"),
    "phone": lazy_gettext("phone"),
    "email": lazy_gettext("email"),
    "website": lazy_gettext("website"),
    "stage": lazy_gettext("stage"),
    "lat": lazy_gettext("latitude"),
    "lon": lazy_gettext("longitude"),
    "x": lazy_gettext("x (grid easting)"),
    "y": lazy_gettext("y (grid northing)"),
    "opening_hours": lazy_gettext("opening hours"),
    "tags": lazy_gettext("tags"),
    "owner_email": lazy_gettext("owner's email"),
    "visit_minutes": lazy_gettext("visit minutes"),
    "cadence_days": lazy_gettext("visit every (days)"),
    "priority": lazy_gettext("priority"),
    "required_skills": lazy_gettext("skills a visit needs"),
    "annual_revenue": lazy_gettext("annual revenue"),
    "employees": lazy_gettext("employees"),
    "industry": lazy_gettext("industry"),
    "notes": lazy_gettext("notes"),
    # what a file error is about
    "file": lazy_gettext("file"),
    "header": lazy_gettext("header row"),
    "encoding": lazy_gettext("encoding"),
    "mapping": lazy_gettext("column mapping"),
    "crs": lazy_gettext("coordinate system"),
    "sheet": lazy_gettext("sheet"),
    "action": lazy_gettext("what to do"),
}

#: What the import did with a row that looks like another record.
OUTCOMES: dict[str, Any] = {
    "repeat": lazy_gettext("same record as that row: not added again"),
    "matched": lazy_gettext("updates that account"),
    "linked": lazy_gettext("linked to that account"),
    "merged": lazy_gettext("merged into that account"),
    "review": lazy_gettext("imported; review"),
    "note": lazy_gettext("imported; another business at that address"),
}

#: Fixed sentences the reader writes (its notes, how an encoding was found, file errors).
SENTENCES: dict[str, Any] = {s._args[0]: s for s in (
    lazy_gettext("byte-order mark"),
    lazy_gettext("valid UTF-8"),
    lazy_gettext("detected"),
    lazy_gettext("detected (UTF-16 without byte-order mark)"),
    lazy_gettext("chosen by you"),
    lazy_gettext("fallback: no encoding fits the whole file"),
    lazy_gettext("No encoding fits every byte of the file; it was read as Windows-1252. Check "
                 "the names below and choose the encoding."),
    lazy_gettext("The file is not UTF-8; it was read as Windows-1252 (Western European). Choose "
                 "another encoding if names look wrong."),
    lazy_gettext("is empty"),
    lazy_gettext("has a header but no data rows"),
    lazy_gettext("is empty (no sheet has a header row)"),
    lazy_gettext("is an old Excel .xls workbook: save it as .xlsx or CSV"),
    lazy_gettext("map both x and y, or neither"),
    lazy_gettext("map either latitude/longitude or x/y, not both"),
    lazy_gettext("no column is mapped to name"),
    lazy_gettext("map both lat and lon, or neither"),
    lazy_gettext("is required"),
    lazy_gettext("choose take or keep"),
    lazy_gettext("is missing while the other coordinate is given"),
    lazy_gettext("is not a number"),
    lazy_gettext("is not a finite number"),
)}

#: The encodings' names (geocrm.imports.sources.ENCODINGS) as people call them.
ENCODING_LABELS: dict[str, Any] = {s._args[0]: s for s in (
    lazy_gettext("UTF-8 with byte-order mark"),
    lazy_gettext("UTF-16 little-endian (no byte-order mark)"),
    lazy_gettext("UTF-16 big-endian (no byte-order mark)"),
    lazy_gettext("Korean (CP949 / EUC-KR)"),
    lazy_gettext("Japanese (Shift_JIS / CP932)"),
    lazy_gettext("Japanese (EUC-JP)"),
    lazy_gettext("Western European (Windows-1252)"),
    lazy_gettext("Western European (ISO-8859-15)"),
    lazy_gettext("Central European (Windows-1250)"),
    lazy_gettext("Cyrillic (Windows-1251)"),
    lazy_gettext("Chinese, simplified (GB18030)"),
    lazy_gettext("Chinese, traditional (Big5)"),
)}


def encodings(labels: dict[str, str]) -> dict[str, str]:
    """The encodings a file may be read in, each named in the reader's language."""
    return {code: str(ENCODING_LABELS.get(label, label)) for code, label in labels.items()}


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^The workbook has (?P<n>\d+) sheets \((?P<names>.*)\); sheet (?P<s>.+) was "
                r"read\.$"),
     lambda m: gettext("The workbook has %(num)s sheets (%(names)s); sheet %(sheet)s was read.",
                       num=m["n"], names=m["names"], sheet=m["s"])),
    (re.compile(r"^is longer than (?P<n>\d+) characters$"),
     lambda m: gettext("is longer than %(num)s characters", num=m["n"])),
    (re.compile(r"^(?P<ll>.+) is far from the other accounts; latitude and longitude look "
                r"swapped$"),
     lambda m: gettext("%(value)s is far from the other accounts; latitude and longitude look "
                       "swapped", value=m["ll"])),
    (re.compile(r"^(?P<t>\w+) is mapped to (?P<h>.+), not in the file$"),
     lambda m: gettext("%(field)s is mapped to %(column)s, not in the file",
                       field=word(m["t"]), column=m["h"])),
    (re.compile(r"^column (?P<i>\d+) has no name$"),
     lambda m: gettext("column %(num)s has no name", num=m["i"])),
    (re.compile(r"^column (?P<i>\d+) repeats the name (?P<name>.+) \(column (?P<j>\d+)\)$"),
     lambda m: gettext("column %(num)s repeats the name %(name)s (column %(other)s)",
                       num=m["i"], name=m["name"], other=m["j"])),
    (re.compile(r"^the file is not (?P<label>.+): line (?P<line>\d+) has bytes (?P<b>[0-9a-f ]+) "
                r"that are not; choose another encoding$"),
     lambda m: gettext("the file is not %(encoding)s: line %(line)s has bytes %(bytes)s that "
                       "are not; choose another encoding",
                       encoding=str(ENCODING_LABELS.get(m["label"], m["label"])),
                       line=m["line"], bytes=m["b"])),
    (re.compile(r"^(?P<crs>.+) is not a known coordinate system$"),
     lambda m: gettext("%(crs)s is not a known coordinate system", crs=m["crs"])),
    (re.compile(r"^is not a readable (?P<kind>CSV file|\.xlsx workbook) \((?P<why>.*)\)$"),
     lambda m: gettext("is not a readable %(kind)s (%(why)s)", kind=m["kind"], why=m["why"])),
    # the file's errors (geocrm.imports.sources, .reading, .conflicts)
    (re.compile(r"^(?P<enc>\S+) is not one we read \((?P<known>.*)\)$", re.S),
     lambda m: gettext("%(encoding)s is not an encoding we read (%(known)s)",
                       encoding=m["enc"], known=m["known"])),
    (re.compile(r"^the workbook has no sheet (?P<s>.+) \(it has (?P<names>.*)\)$", re.S),
     lambda m: gettext("the workbook has no sheet %(sheet)s (its sheets: %(names)s)",
                       sheet=m["s"], names=m["names"])),
    (re.compile(r"^x/y is mapped to (?P<h>.+), not in the file$"),
     lambda m: gettext("x/y is mapped to %(column)s, not in the file", column=m["h"])),
    (re.compile(r"^unknown field (?P<t>.+)$"),
     lambda m: gettext("unknown field %(field)s", field=m["t"])),
    (re.compile(r"^x/y columns are mapped \((?P<x>.+), (?P<y>.+)\) but no coordinate system "
                r"is given: .*$", re.S),
     lambda m: gettext("x/y columns are mapped (%(x)s, %(y)s) but no coordinate system is "
                       "given: enter the EPSG code the file's publisher states (Korean public "
                       "registers: EPSG:5174). It is never guessed: a wrong grid moves points "
                       "by hundreds of metres", x=m["x"], y=m["y"])),
    (re.compile(r"^(?P<pt>.+) in (?P<crs>\S+) falls outside the area that coordinate system is "
                r"made for \((?P<area>.*)\); is it the right CRS\?$", re.S),
     lambda m: gettext("%(point)s in %(crs)s falls outside the area that coordinate system is "
                       "made for (%(area)s); is it the right one?",
                       point=m["pt"], crs=m["crs"], area=m["area"])),
    (re.compile(r"^this conflict is already (?P<s>\w+)$"),
     lambda m: gettext("this conflict was already resolved")),
]
#: "row 3, name: is required" / "file: is empty": a ValidationError's message.
_FIELD_MESSAGE = re.compile(r"^(?:row (?P<row>\d+), )?(?P<field>[\w.]+): (?P<reason>.+)$", re.S)


def word(value: Any) -> str:
    """A count, status, rule or field key in words; an unknown key with its underscores
    turned into spaces."""
    key = str(value)
    found = WORDS.get(key)
    return str(found) if found is not None else key.replace("_", " ")


def outcome(value: Any) -> str:
    """What happened to a row that looks like another record, in words."""
    found = OUTCOMES.get(str(value))
    return str(found) if found is not None else str(value)


def sentence(value: Any) -> str:
    """A sentence the reader or a row check wrote, translated when its form is known."""
    text = str(value)
    found = SENTENCES.get(text)
    if found is not None:
        return str(found)
    for pattern, build in _PATTERNS:
        m = pattern.match(text)
        if m:
            return build(m)
    m = _FIELD_MESSAGE.match(text)
    if m and (m["reason"] in SENTENCES or any(p.match(m["reason"]) for p, _ in _PATTERNS)):
        where = word(m["field"]) + ": " + sentence(m["reason"])
        return gettext("row %(num)s, %(problem)s", num=m["row"], problem=where) if m["row"] \
            else where
    return gettext(text) if text else text
