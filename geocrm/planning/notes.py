"""Planning notes as codes and parameters, put into words when a page is drawn.

A plan's notes, a re-plan's summary and the reasons a visit was left out are stored in the
database and read later by people in other languages (a planner in English, a rep in Korean).
So what planning writes is a code with its parameters (``{"code": "dropped_one", "params":
{"name": "Kahvila Aalto", "why": {"code": "closed_after", "params": {"time": "15:00"}}}}``),
and :func:`render` puts it into the reader's language from the catalogues. Parameters may be
notes themselves (the reason inside "X dropped: …"), lists of names, or plain values.

The solver (``routing``) and the travel providers are pure libraries that write English
sentences; :func:`from_library` turns the ones whose form is known into codes on their way
into the database, and :func:`render` does the same for rows stored before, so old plans
read in the new language too. Anything else (an unknown sentence) is shown as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import force_locale, gettext, lazy_gettext, ngettext

import routing
from geocrm.i18n import local_date

Note = dict[str, Any]
MOST_NAMES = 4

#: Single messages by code; every ``%(name)s`` is a parameter of the note.
MESSAGES: dict[str, Any] = {
    # where a (re-)planned day starts
    "from_home": lazy_gettext("from home"),
    "from_phone": lazy_gettext("from where you are now"),
    "from_checkin": lazy_gettext("from your check-in at %(name)s"),
    "from_place": lazy_gettext("from %(name)s"),
    # a re-plan's summary
    "replanned": lazy_gettext("Re-planned at %(time)s %(origin)s."),
    "nothing_to_replan": lazy_gettext("Nothing left to re-plan: every stop is visited or skipped."),
    "order_keeps_important": lazy_gettext(
        "New order: the current one no longer fits everything; this one keeps the more "
        "important stops."),
    "order_saves": lazy_gettext("New order: saves %(min)s min of travel (%(pct)s %%)."),
    "kept_small_gain": lazy_gettext(
        "Kept your order: a new one would save only %(min)s min (%(pct)s %%) of travel."),
    "kept_no_better": lazy_gettext("Kept your order: no better one found."),
    "moved_after_lunch": lazy_gettext("%(name)s moved after lunch, to %(time)s."),
    "moved_before_lunch": lazy_gettext("%(name)s moved before lunch, to %(time)s."),
    "moved": lazy_gettext("%(name)s moved from stop %(old)s to stop %(new)s, at %(time)s."),
    "added": lazy_gettext("%(name)s added at %(time)s."),
    "starts_later": lazy_gettext("%(name)s starts %(by)s later."),
    "starts_earlier": lazy_gettext("%(name)s starts %(by)s earlier."),
    "minutes": lazy_gettext("%(num)s min"),
    "minutes_range": lazy_gettext("%(low)s–%(high)s min"),
    "dropped_one": lazy_gettext("%(name)s dropped: %(why)s."),
    "names_and_more": lazy_gettext("%(names)s and %(num)s more"),
    # why a visit was dropped by a re-plan
    "closed_today": lazy_gettext("closed today"),
    "closed_after": lazy_gettext("closed after %(time)s"),
    "no_time_left": lazy_gettext("no time left before your day ends at %(time)s"),
    "max_visits": lazy_gettext("%(name)s has reached the most visits for one day"),
    "no_longer_fits": lazy_gettext("no longer fits the day"),
    # why the planner left a visit out (the app's codes and the solver's)
    "closed": lazy_gettext("closed that day according to its opening hours"),
    "not_covered": lazy_gettext("none of the chosen reps works this account's territory"),
    "no_rep_working": lazy_gettext("none of the chosen reps works that day"),
    "no_cadence": lazy_gettext("no visit cadence set on the account"),
    "not_planned": lazy_gettext("not offered on any day"),
    "outside_windows": lazy_gettext("no opening window falls inside any rep's shift"),
    "shift_too_short": lazy_gettext(
        "no rep can get there, do the visit and get home within the shift"),
    "capacity": lazy_gettext("every rep who could go is at their maximum number of visits"),
    "dropped_for_priority": lazy_gettext("left out so that higher-priority visits fit the day"),
    "skill_missing": lazy_gettext(
        "none of the chosen reps working that day covers this account's territory"),
    "pinned_rep_absent": lazy_gettext("pinned to a rep who does not work that day"),
    "window_too_short": lazy_gettext("every opening window is shorter than the visit"),
    "no_room": lazy_gettext("no room in any route today: every rep who could go has a full day"),
    "due_on": lazy_gettext("due %(day)s: %(why)s"),
    "day_over": lazy_gettext("the chosen reps' working day is already over"),
    "closed_on": lazy_gettext("closed on %(day)s (opening hours: %(hours)s)"),
    "day_ended": lazy_gettext(
        "%(rep)s's working day ended at %(time)s; nothing planned for them today."),
    "hours_not_understood": lazy_gettext(
        "%(name)s: opening hours %(hours)s not understood; planned as open all day"),
    "no_window_left": lazy_gettext("%(name)s: no opening window left at %(time)s"),
    "route_locked": lazy_gettext("%(rep)s's route is locked and takes no other visit"),
    "home_after_shift": lazy_gettext("back home at %(time)s, after the shift ends (%(end)s)"),
    # a day planned after the shift began
    "planned_late": lazy_gettext(
        "Planned at %(time)s, after %(rep)s's working day began (%(start)s): the route starts "
        "now, %(origin)s."),
    # the travel provider and the solver
    "straight_line": lazy_gettext(
        "straight-line estimate: distances are great-circle × %(circuity)s at the rep's speed, "
        "not roads (load a region with 'flask region load' or set GEOCRM_TRAVEL=osrm or valhalla "
        "for road times)"),
    "no_solution": lazy_gettext("the solver found no solution in time; every visit is unassigned"),
    "on_day": lazy_gettext("%(day)s: %(note)s"),
    "because": lazy_gettext("%(note)s; %(why)s"),
    "no_region_loaded": lazy_gettext("GEOCRM_TRAVEL=region but no region is loaded"),
    # a period spread by cadence (routing.notes: the weekly planner's notes)
    "rep_no_days": lazy_gettext("%(rep)s works no day in this period."),
    "visits_per_rep": lazy_gettext("Visits per rep: %(counts)s."),
    "visits_per_rep_spread": lazy_gettext("Visits per rep: %(counts)s; %(spread)s."),
    "rep_visits": lazy_gettext("%(rep)s %(num)s"),
    "spread": lazy_gettext("busiest to least busy %(value)s×"),
    "spread_per_hour": lazy_gettext("busiest to least busy per working hour %(value)s×"),
    "spread_goal": lazy_gettext("%(spread)s (goal ≤ %(goal)s×)"),
    "balance_impossible": lazy_gettext(
        "Visits cannot be balanced within %(spread)s× this period: %(reasons)s."),
    "uneven_in_general": lazy_gettext(
        "the accounts' territories and skills, opening days, full days, or too few visits to "
        "share evenly"),
    "no_rep": lazy_gettext(
        "no rep in this plan can take the account (its rep is away, or no chosen rep works its "
        "territory with the skills it needs)"),
    "no_working_day": lazy_gettext(
        "the rep works no day on which the account is open within the visit's due window"),
    "days_full": lazy_gettext("every day the visit could happen on is already full"),
    "skills_needed": lazy_gettext(
        "needs %(skills)s: no chosen rep who could go that day has all of these skills"),
}

#: Messages with a count (``num``): ngettext picks the form for the reader's language.
PLURALS: dict[str, Callable[[int, dict[str, Any]], str]] = {
    "order_fits_more": lambda n, p: ngettext(
        "New order: the current one no longer fits everything; this one fits %(num)s more stop.",
        "New order: the current one no longer fits everything; this one fits %(num)s more "
        "stops.", n, **p),
    "kept_less": lambda n, p: ngettext(
        "Kept your order, less %(num)s stop that no longer fit.",
        "Kept your order, less %(num)s stops that no longer fit.", n, **p),
    "dropped_many": lambda n, p: ngettext(
        "%(num)s visit dropped: %(why)s (%(names)s).",
        "%(num)s visits dropped: %(why)s (%(names)s).", n, **p),
    "start_later_many": lambda n, p: ngettext(
        "%(num)s visit starts later, by %(by)s: %(names)s.",
        "%(num)s visits start later, by %(by)s: %(names)s.", n, **p),
    "start_earlier_many": lambda n, p: ngettext(
        "%(num)s visit starts earlier, by %(by)s: %(names)s.",
        "%(num)s visits start earlier, by %(by)s: %(names)s.", n, **p),
    "week_summary": lambda n, p: ngettext(
        "%(num)s visit due for %(accounts)s accounts from %(start)s to %(end)s: %(placed)s "
        "placed, %(left)s left out.",
        "%(num)s visits due for %(accounts)s accounts from %(start)s to %(end)s: %(placed)s "
        "placed, %(left)s left out.", n, **p),
    "rep_days": lambda n, p: ngettext(
        "%(rep)s: %(num)s working day, %(low)s–%(high)s min a day.",
        "%(rep)s: %(num)s working days, %(low)s–%(high)s min a day.", n, **p),
    "own_accounts_over": lambda n, p: ngettext(
        "%(rep)s's own accounts alone need %(num)s visit, over a fair share of %(share)s",
        "%(rep)s's own accounts alone need %(num)s visits, over a fair share of %(share)s",
        n, **p),
    "own_accounts_under": lambda n, p: ngettext(
        "only %(num)s visit is %(rep)s's to make (a fair share is %(share)s) and no account is "
        "free to move",
        "only %(num)s visits are %(rep)s's to make (a fair share is %(share)s) and no account "
        "is free to move", n, **p),
    "could_only_get": lambda n, p: ngettext(
        "only %(num)s visit could go to %(rep)s (a fair share is %(share)s): the others belong "
        "to another rep, or are outside %(rep)s's territories or skills",
        "only %(num)s visits could go to %(rep)s (a fair share is %(share)s): the others belong "
        "to another rep, or are outside %(rep)s's territories or skills", n, **p),
    "moved_to_other_day": lambda n, p: ngettext(
        "%(num)s visit a route could not fit was moved to another day.",
        "%(num)s visits a route could not fit were moved to another day.", n, **p),
}

#: The codes a left-out visit's ``reason`` may carry that have words of their own.
REASON_CODES = frozenset({
    "day_over", "closed", "not_covered", "no_rep_working", "no_cadence", "not_planned",
    "outside_windows", "shift_too_short", "capacity", "dropped_for_priority", "skill_missing",
    "pinned_rep_absent",
    "window_too_short", "no_room", "no_rep", "no_working_day", "days_full",
})


def note(code: str, **params: Any) -> Note:
    """A note to store: its code and parameters (plain JSON values, lists, or notes)."""
    if code not in MESSAGES and code not in PLURALS:
        raise KeyError(f"unknown planning note {code!r}")
    return {"code": code, "params": params}


def is_note(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("code"), str)


def names(items: Sequence[str], most: int = MOST_NAMES) -> Note | list[str]:
    """A list of account names: all of them, or the first ``most`` and "and N more"."""
    shown = [str(i) for i in items[:most]]
    if len(items) > most:
        return note("names_and_more", names=shown, num=len(items) - most)
    return shown


def minutes(low: int, high: int | None = None) -> Note:
    """"10 min" or "10–25 min"."""
    if high is None or high == low:
        return note("minutes", num=low)
    return note("minutes_range", low=low, high=high)


def _value(value: Any) -> Any:
    if is_note(value):
        return render(value)
    if isinstance(value, list | tuple):
        # A list separator per language: ", " / "、".
        return gettext(", ").join(str(_value(v)) for v in value)
    return value


def render(value: Any) -> str:
    """A stored note (a code with parameters, or a plain sentence) in the reader's language."""
    if isinstance(value, str):
        found = from_library(value)
        return value if isinstance(found, str) else render(found)
    if not is_note(value):
        return "" if value is None else str(value)
    code = str(value["code"])
    params = {k: _value(v) for k, v in dict(value.get("params") or {}).items()}
    if code == "on_day":
        params["day"] = _day(params.get("day"))
    if code in ("due_on", "closed_on"):
        params["day"] = _day(params.get("day"))
    if code == "week_summary":
        params.update(start=_day(params.get("start")), end=_day(params.get("end")))
    if code == "balance_impossible":  # the reasons hold commas of their own
        params["reasons"] = "; ".join(_value(r) for r in value["params"].get("reasons") or [])
    if code in PLURALS:
        params.pop("num", None)
        return str(PLURALS[code](int(dict(value.get("params") or {}).get("num") or 0), params))
    message = MESSAGES.get(code)
    if message is None:
        return str(value.get("text") or code)
    try:
        return str(message) % params if params else str(message)
    except (KeyError, TypeError, ValueError):
        return str(value.get("text") or code)


def _day(value: Any) -> str:
    try:
        return local_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def english(value: Any) -> str:
    """A note in English, the source language (kept beside the code for exports and logs)."""
    with force_locale("en"):
        return render(value)


def english_all(values: Sequence[Any]) -> list[str]:
    """:func:`english` over a list of notes."""
    return [english(v) for v in values]


def reason_words(row: Mapping[str, Any]) -> str:
    """Why a visit was left out, for a stored left-out row (``reason`` code, ``text``, and
    ``why`` when written as a note): the note, else the code's own words when the row carries
    the code's standard text (or none), else the row's text as it is."""
    why = row.get("why")
    if is_note(why):
        return render(why)
    code = str(row.get("reason") or "")
    text = str(row.get("text") or "")
    if code in REASON_CODES and (not text or text == _english(code)):
        return str(MESSAGES[code])
    found = from_library(text)
    return text if isinstance(found, str) else render(found)


def _english(code: str) -> str:
    """The English source of a single message (the form stored by older rows)."""
    return str(MESSAGES[code]._args[0])


# -- the libraries' sentences ---------------------------------------------------------------------
def _pct(m: re.Match[str]) -> dict[str, Any]:
    return {"min": int(m["min"]), "pct": int(m["pct"])}


_LIBRARY: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Note]]] = [
    (re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2}): (?P<rest>.+)$", re.S),
     lambda m: note("on_day", day=m["day"], note=from_library(m["rest"]))),
    (re.compile(r"^straight-line estimate: distances are great-circle × (?P<c>[\d.]+) at the "
                r"rep's speed, not roads \(.*?\)(?:; (?P<why>.+))?$", re.S),
     lambda m: note("straight_line", circuity=m["c"]) if not m["why"] else note(
         "because", note=note("straight_line", circuity=m["c"]), why=from_library(m["why"]))),
    (re.compile(r"^GEOCRM_TRAVEL=region but no region is loaded$"),
     lambda m: note("no_region_loaded")),
    (re.compile(r"^New order: the current one no longer fits everything; this one fits "
                r"(?P<n>\d+) more stops?\.$"),
     lambda m: note("order_fits_more", num=int(m["n"]))),
    (re.compile(r"^New order: the current one no longer fits everything; this one keeps the "
                r"more important stops\.$"),
     lambda m: note("order_keeps_important")),
    (re.compile(r"^New order: saves (?P<min>\d+) min of travel \((?P<pct>\d+) %\)\.$"),
     lambda m: note("order_saves", **_pct(m))),
    (re.compile(r"^Kept your order, less (?P<n>\d+) stops? that no longer fit\.$"),
     lambda m: note("kept_less", num=int(m["n"]))),
    (re.compile(r"^Kept your order: a new one would save only (?P<min>\d+) min "
                r"\((?P<pct>\d+) %\) of travel\.$"),
     lambda m: note("kept_small_gain", **_pct(m))),
    (re.compile(r"^Kept your order: no better one found\.$"), lambda m: note("kept_no_better")),
    (re.compile(r"^the solver found no solution in time; every visit is unassigned$"),
     lambda m: note("no_solution")),
]


def from_library(text: str, reps: Mapping[str, str] | None = None) -> Note | str:
    """A sentence from ``routing`` or a travel provider as a note when its form is known,
    else the sentence itself (shown as it is). A ``routing.Note`` brings its own code and
    parameters; ``reps`` (routing's rep id → name) puts names where it names reps."""
    if isinstance(text, routing.Note):
        return _routing_note(text, reps or {})
    for pattern, build in _LIBRARY:
        m = pattern.match(text)
        if m:
            return build(m)
    for code in REASON_CODES:
        if text == _english(code):
            return note(code)
    return text


def unique(notes: Sequence[Any]) -> list[Any]:
    """``notes`` without repeats, in order (notes are dicts, so not hashable)."""
    seen: set[str] = set()
    out = []
    for n in notes:
        key = json.dumps(n, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


def library_notes(notes: Sequence[Any], reps: Mapping[str, str] | None = None) -> list[Any]:
    """:func:`from_library` over a list of notes (notes already coded pass through)."""
    return [from_library(n, reps) if isinstance(n, str) else n for n in notes]


def _routing_note(found: routing.Note, reps: Mapping[str, str]) -> Note | str:
    """A ``routing.Note`` as a stored note, rep ids turned into names (the names of the day
    it was planned, like every name a note keeps)."""
    params = dict(found.params)
    if "rep" in params:
        params["rep"] = reps.get(str(params["rep"]), str(params["rep"]))
    code = found.code
    if code in ("visits_per_rep", "visits_per_rep_spread"):
        params["counts"] = [note("rep_visits", rep=reps.get(str(rid), str(rid)), num=n)
                            for rid, n in params["counts"]]
    if code == "visits_per_rep_spread":
        value = "∞" if params["spread"] is None else f"{params['spread']:.2f}"
        spread = note("spread_per_hour" if params.pop("per_hour") else "spread", value=value)
        goal = params.pop("goal")
        params["spread"] = spread if goal is None else note("spread_goal", spread=spread,
                                                            goal=f"{goal:g}")
    if code == "balance_impossible":
        params["reasons"] = [from_library(r, reps) for r in params["reasons"]]
    if code == "week_summary":
        params["num"] = params.pop("due")
    if code == "rep_days":
        params["num"] = params.pop("days")
    if code not in MESSAGES and code not in PLURALS:
        return str(found)
    return note(code, **params)
