"""Territory change summaries and repair notes as codes and parameters, put into words when read.

A territory change is read later, in the history, by people in other languages (an admin in
English, a manager in Korean). So a revision stores its summary and its notes as a code with
parameters (``{"code": "reshaped", "params": {"name": "강남"}}``), and :func:`render` puts
them into the reader's language from the catalogues. Revisions written before this keep
their English text, which is shown as it is.

The file reader (``territories``) is a pure library: its notes are ``territories.notes.Note``
(an English sentence with a code), which :func:`from_library` turns into stored notes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask_babel import force_locale, gettext, lazy_gettext

from territories.notes import Note as LibraryNote

Note = dict[str, Any]

#: The messages by code; every ``%(name)s`` is a parameter of the note.
MESSAGES: dict[str, Any] = {
    # what a change did (its summary)
    "created": lazy_gettext("created %(name)s"),
    "reshaped": lazy_gettext("reshaped %(name)s"),
    "edited": lazy_gettext("edited %(name)s"),
    "deleted": lazy_gettext("deleted %(name)s"),
    "split": lazy_gettext("split %(name)s: new %(new)s"),
    "worked_by": lazy_gettext("%(name)s worked by %(reps)s"),
    "nobody": lazy_gettext("nobody"),
    "balanced": lazy_gettext("balanced %(num)s territories (max/min workload %(ratio)s)"),
    "rebalanced": lazy_gettext("rebalanced %(num)s territories (max/min workload %(ratio)s)"),
    "imported": lazy_gettext("imported %(filename)s: %(created)s new, %(reshaped)s reshaped"),
    # what the change met on the way (its notes)
    "polygon_repaired": lazy_gettext(
        "invalid polygon (%(reason)s) repaired into %(num)s part(s)"),
    "feature_note": lazy_gettext("%(name)s: %(note)s"),
    "overlaps_not_managed": lazy_gettext("overlaps %(name)s, which you do not manage: not cut"),
    "cut_out_of": lazy_gettext("cut out of %(name)s"),
    "overlaps_rule": lazy_gettext("overlaps %(name)s (the overlap rule decides its accounts)"),
    "import_overlap": lazy_gettext("%(a)s overlaps %(b)s (%(area)s m²)"),
    "layers_choice": lazy_gettext(
        "%(filename)s has %(num)s polygon layers: %(counts)s; this is layer %(layer)s. Choose "
        "another layer, or all of them."),
    "layer_count": lazy_gettext("%(name)s (%(num)s features)"),
    "undone": lazy_gettext("undone: %(num)s account(s) moved back"),
    "undone_relinked": lazy_gettext(
        "undone: %(num)s account(s) moved back, %(rows)s history row(s) linked to their "
        "territory again"),
    # the file reader's notes (territories.notes)
    "empty_dropped": lazy_gettext("feature %(feature)s: empty geometry, dropped"),
    "invalid_repaired": lazy_gettext("feature %(feature)s: invalid (%(reason)s), repaired"),
    "no_area_dropped": lazy_gettext("feature %(feature)s: no area (%(kind)s), dropped"),
    "parts_dropped": lazy_gettext("feature %(feature)s: %(num)s empty or zero-area part(s) "
                                  "dropped"),
    "all_layers": lazy_gettext("read all %(num)s layers: %(layers)s"),
    "crs_overridden": lazy_gettext("%(filename)s declares %(declared)s; read as %(chosen)s as "
                                   "chosen"),
    # the file reader's refusals (territories.errors)
    "no_such_file": lazy_gettext("%(file)s: no such file"),
    "layer_no_crs": lazy_gettext(
        "%(file)s: layer %(layer)s has no CRS; choose its EPSG code"),
    "no_features": lazy_gettext("%(file)s: no features"),
    "no_crs_degrees": lazy_gettext(
        "%(file)s has no CRS; the coordinates look like degrees: choose EPSG:4326 if so"),
    "no_crs_projected": lazy_gettext(
        "%(file)s has no CRS; coordinates such as %(x)s, %(y)s are not degrees: the file is "
        "projected; add its .prj or choose its EPSG code"),
    "crs_not_degrees": lazy_gettext(
        "%(file)s: CRS %(crs)s is in degrees but coordinates reach %(x)s, %(y)s; the CRS is "
        "wrong (projected data?)"),
    "nothing_usable": lazy_gettext("%(file)s: no usable polygon after repair"),
}

#: Parameters that are names, shown quoted ('North') as the English sentences always were.
_QUOTED = frozenset({"name", "new", "feature", "a", "b", "layer"})

#: A change's kind (the history's "edit: reshaped 'North'") in the reader's language.
KINDS: dict[str, Any] = {
    "create": lazy_gettext("create"),
    "edit": lazy_gettext("edit"),
    "split": lazy_gettext("split"),
    "delete": lazy_gettext("delete"),
    "import": lazy_gettext("import"),
    "reps": lazy_gettext("reps"),
    "balance": lazy_gettext("balance"),
}


def note(code: str, **params: Any) -> Note:
    """A note to store: its code and parameters (plain JSON values, lists, or notes)."""
    if code not in MESSAGES:
        raise KeyError(f"unknown territory note {code!r}")
    return {"code": code, "params": params}


def is_note(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("code"), str)


def from_library(value: Any) -> Any:
    """A ``territories.notes.Note`` as a stored note; anything else as it is."""
    if isinstance(value, LibraryNote) and value.code in MESSAGES:
        return note(value.code, **value.params)
    return str(value) if isinstance(value, LibraryNote) else value


def library_notes(values: Iterable[Any]) -> list[Any]:
    """:func:`from_library` over the reader's notes."""
    return [from_library(v) for v in values]


def _value(key: str, value: Any) -> Any:
    if is_note(value) or isinstance(value, LibraryNote):
        return render(value)
    if isinstance(value, list | tuple):
        return gettext(", ").join(str(_value("", v)) for v in value)
    if key in _QUOTED and value is not None:
        return repr(str(value))
    return "" if value is None else value


def render(value: Any) -> str:
    """A stored summary or note in the reader's language; an old row's text as it is."""
    value = from_library(value)
    if not is_note(value):
        return "" if value is None else str(value)
    message = MESSAGES.get(str(value["code"]))
    if message is None:
        return str(value.get("text") or value["code"])
    params = {k: _value(k, v) for k, v in dict(value.get("params") or {}).items()}
    try:
        return str(message) % params if params else str(message)
    except (KeyError, TypeError, ValueError):
        return str(value.get("text") or value["code"])


def error_words(error: Exception, label: str) -> str:
    """A refusal of the file reader (``territories.errors``) in the reader's language, naming
    the upload by ``label`` (the stored file has a token for a name); an uncoded one as its
    English text."""
    code = getattr(error, "code", None)
    if code in MESSAGES:
        params = {**getattr(error, "params", {}), "file": label}
        return render(note(code, **params))
    return str(error)


def english(value: Any) -> str:
    """A note in English, the source language (the revision's text column, logs, reasons)."""
    with force_locale("en"):
        return render(value)


def summary(revision: Any) -> str:
    """A revision's summary for its reader: the coded one, else the stored text."""
    coded = getattr(revision, "summary_note", None)
    return render(coded) if coded else str(getattr(revision, "summary", "") or "")


def kind(value: Any) -> str:
    """A change's kind in words (an unknown one as it is)."""
    found = KINDS.get(str(value))
    return str(found) if found is not None else str(value)


def render_all(values: Iterable[Any]) -> list[str]:
    """:func:`render` over a revision's notes (old English strings pass as they are)."""
    return [render(v) for v in values]


def english_all(values: Iterable[Any]) -> list[str]:
    """:func:`english` over a list of notes (tests, logs)."""
    return [english(v) for v in values]


# -- why an account changed territory (AssignmentHistory.reason) ---------------------------------
# The history row keeps a short English reason (60 characters) written by whoever moved the
# account; the account page shows it through :func:`assignment_reason`. A territory change's
# reason is "<kind>: <its English summary>", read back into a note when its form is known.
REASONS: dict[str, Any] = {
    "import": lazy_gettext("import"),
    "import: pin moved": lazy_gettext("import: pin moved"),
    "import conflict taken": lazy_gettext("import: the file's pin taken"),
    "pin moved by hand": lazy_gettext("pin moved by hand"),
    "pin moved to a check-in": lazy_gettext("pin moved to a check-in"),
    "placed from the address": lazy_gettext("placed from the address"),
    "merged": lazy_gettext("merged"),
    "merge: the merged account's pin": lazy_gettext("merge: the merged account's pin"),
    "territories drawn": lazy_gettext("territories drawn"),
}
_NAME = r"'(?P<name>[^']*)'"
_SUMMARIES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Note]]] = [
    (re.compile(rf"^(?P<verb>created|reshaped|edited|deleted) {_NAME}$"),
     lambda m: note(m["verb"], name=m["name"])),
    (re.compile(rf"^split {_NAME}: new '(?P<new>[^']*)'$"),
     lambda m: note("split", name=m["name"], new=m["new"])),
    (re.compile(r"^(?P<verb>balanced|rebalanced) (?P<num>\d+) territories \(max/min workload "
                r"(?P<ratio>[^)]*)\)$"),
     lambda m: note(m["verb"], num=int(m["num"]), ratio=m["ratio"])),
    (re.compile(rf"^{_NAME} worked by (?P<reps>.+)$"),
     lambda m: note("worked_by", name=m["name"], reps=note("nobody") if m["reps"] == "nobody"
                    else m["reps"].split(", "))),
    (re.compile(r"^imported (?P<f>.+): (?P<c>\d+) new, (?P<r>\d+) reshaped$"),
     lambda m: note("imported", filename=m["f"], created=int(m["c"]), reshaped=int(m["r"]))),
]
_CHANGE = re.compile(r"^(?P<kind>create|edit|split|delete|import|reps|balance): (?P<rest>.+)$")
_UNDO = re.compile(r"^undo #(?P<id>\d+)$")


def assignment_reason(reason: str | None) -> str:
    """Why an account changed territory, in the reader's language when the reason's form is
    known; anything else (a cut-off summary, a reason of an older form) as written."""
    text = str(reason or "")
    found = REASONS.get(text)
    if found is not None:
        return str(found)
    m = _UNDO.match(text)
    if m:
        return gettext("undo of change #%(id)s", id=m["id"])
    m = _CHANGE.match(text)
    if m:
        for pattern, build in _SUMMARIES:
            s = pattern.match(m["rest"])
            if s:
                return gettext("%(kind)s: %(summary)s", kind=kind(m["kind"]),
                               summary=render(build(s)))
    return text
