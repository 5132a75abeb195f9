"""Which language, time zone and currency a page speaks, and the Jinja filters that use them.

One place decides the locale, in this order: the signed-in user's profile setting, the choice
a signed-out visitor made in the footer (kept in the session), the browser's Accept-Language
(best match among :data:`LOCALES`), and last the company default (``GEOCRM_DEFAULT_LOCALE``).
Times are shown in the company's zone (``GEOCRM_TIMEZONE``): the database keeps naive UTC, so
a Seoul visit at 09:30 (00:30 UTC) must not show on the previous day. Money is one company
currency (``GEOCRM_CURRENCY``) formatted by Babel, so KRW and JPY get no decimals.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_skeleton, get_datetime_format
from babel.messages.pofile import read_po
from babel.numbers import get_currency_symbol, list_currencies
from babel.units import format_unit
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_number,
    get_locale,
    lazy_gettext,
    refresh,
    to_user_timezone,
)
from flask_login import current_user

from geocrm.extensions import babel

#: The languages GeoCRM speaks; English is the source of every message.
LOCALES: tuple[str, ...] = ("en", "ko", "ja")
#: Each language's name in itself, for the switcher (a Korean reader looks for 한국어).
LOCALE_NAMES: dict[str, str] = {"en": "English", "ko": "한국어", "ja": "日本語"}


#: Words stored as enum values (roles, stages) shown to people: one translation each.
LABELS: dict[str, Any] = {
    "admin": lazy_gettext("admin"),
    "manager": lazy_gettext("manager"),
    "planner": lazy_gettext("planner"),
    "rep": lazy_gettext("sales rep"),
    "lead": lazy_gettext("lead"),
    "prospect": lazy_gettext("prospect"),
    "customer": lazy_gettext("customer"),
    "lost": lazy_gettext("lost"),
    # deals
    "qualify": lazy_gettext("qualify"),
    "proposal": lazy_gettext("proposal"),
    "negotiation": lazy_gettext("negotiation"),
    "won": lazy_gettext("won"),
    # tasks
    "open": lazy_gettext("open"),
    "done": lazy_gettext("done"),
    "cancelled": lazy_gettext("cancelled"),
    # background jobs
    "queued": lazy_gettext("queued"),
    "running": lazy_gettext("running"),
    "failed": lazy_gettext("failed"),
    # route plans, and their stops
    "planned": lazy_gettext("planned"),
    "visited": lazy_gettext("visited"),
    "skipped": lazy_gettext("skipped"),
    "draft": lazy_gettext("draft"),
    "published": lazy_gettext("published"),
    "archived": lazy_gettext("archived"),
    # what a territory import does with a feature
    "create": lazy_gettext("create"),
    "replace": lazy_gettext("replace"),
    # interactions and their outcomes
    "visit": lazy_gettext("visit"),
    "call": lazy_gettext("call"),
    "email": lazy_gettext("email"),
    "note": lazy_gettext("note"),
    "campaign_response": lazy_gettext("campaign response"),
    "interested": lazy_gettext("interested"),
    "not_interested": lazy_gettext("not interested"),
    "follow_up": lazy_gettext("follow up"),
    "order_placed": lazy_gettext("order placed"),
    "no_answer": lazy_gettext("no answer"),
    "closed": lazy_gettext("closed"),
    "responded": lazy_gettext("responded"),
    "declined": lazy_gettext("declined"),
    "unsubscribed": lazy_gettext("unsubscribed"),
    "bounced": lazy_gettext("bounced"),
    # where a pin came from
    "manual": lazy_gettext("entered by hand"),
    "checkin": lazy_gettext("check-in"),
    "import": lazy_gettext("import"),
    "osm": lazy_gettext("OpenStreetMap"),
    "geocoder": lazy_gettext("geocoder"),
    # how precisely the geocoder placed a pin (places.geocode.Confidence)
    "exact": lazy_gettext("exact address"),
    "interpolated": lazy_gettext("interpolated house number"),
    "street": lazy_gettext("street only"),
    "postcode": lazy_gettext("postcode area only"),
    "locality": lazy_gettext("town or district only"),
    # the field app's outbox: what waits on the phone, and in which state
    "checkout": lazy_gettext("check-out"),
    "interaction": lazy_gettext("interaction"),
    "account_edit": lazy_gettext("account edit"),
    "account_create": lazy_gettext("account create"),
    "task_done": lazy_gettext("task done"),
    "pending": lazy_gettext("pending"),
    "rejected": lazy_gettext("rejected"),
    # check-ins that could not be verified
    "outside_geofence": lazy_gettext("outside the geofence"),
    "no_location": lazy_gettext("no location"),
    "poor_accuracy": lazy_gettext("GPS fix too imprecise"),
    "no_pin": lazy_gettext("the account has no pin"),
    "verified": lazy_gettext("verified"),
    "unverified": lazy_gettext("unverified"),
    "outside": lazy_gettext("outside"),
}


def label(value: Any) -> str:
    """A stored value (``rep``, ``prospect``) in the reader's language; unknown ones as they are."""
    key = getattr(value, "value", value)
    found = LABELS.get(str(key))
    return str(found) if found is not None else str(key)


#: The forms of progress message the job functions write, each with its words in the reader's
#: language. A job's progress is stored in English (logs, the JSON job API read it as written);
#: the pages show it through :func:`progress_text`. A job module teaches a form with
#: :func:`progress_form` beside the function that writes it, so the two cannot drift apart.
_PROGRESS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Any]]] = []


def progress_form(pattern: str, words: Callable[[re.Match[str]], Any]) -> None:
    """Teach :func:`progress_text` one form of progress message: the whole message must match
    ``pattern``; ``words`` gives it in the reader's language from the match."""
    _PROGRESS.append((re.compile(pattern, re.S), words))


def progress_text(message: str | None) -> str:
    """A job's stored progress message in the reader's language: a taught form with its
    values, a job state (queued, done) as its label, anything else as written."""
    text = str(message or "")
    for pattern, words in _PROGRESS:
        found = pattern.fullmatch(text)
        if found:
            return str(words(found))
    return label(text)


progress_form(r"started", lambda m: lazy_gettext("started"))


def default_locale() -> str:
    """The company default (``GEOCRM_DEFAULT_LOCALE``), checked at start-up."""
    return str(current_app.config.get("GEOCRM_DEFAULT_LOCALE") or "en")


def select_locale() -> str:
    """Profile, else the session's choice, else Accept-Language, else the company default."""
    if has_request_context():
        chosen = getattr(current_user, "locale", None) if current_user.is_authenticated else None
        if chosen in LOCALES:
            return str(chosen)
        if session.get("locale") in LOCALES:
            return str(session["locale"])
        best = request.accept_languages.best_match(LOCALES)
        if best:
            return str(best)
    return default_locale()


def select_timezone() -> str:
    """Every timestamp is shown in the company's zone, the one planning's days are cut in."""
    return str(current_app.config.get("GEOCRM_TIMEZONE") or "UTC")


def current_locale() -> str:
    """The locale of this request as a language tag (``ko``), for ``<html lang>``."""
    locale = get_locale()
    return str(locale) if locale is not None else default_locale()


def money(value: Decimal | float | int | None, empty: str = "—") -> str:
    """An amount in the company currency, per locale: €121,850.00 / ₩121,850 / ￥121,850."""
    if value is None or value == "":
        return empty
    return str(format_currency(Decimal(str(value)), current_app.config["GEOCRM_CURRENCY"]))


def _locale() -> Locale:
    return get_locale() or Locale.parse(default_locale())


def currency_symbol() -> str:
    """The company currency's sign in this locale (€, ₩, ￥), for chart axes."""
    return str(get_currency_symbol(current_app.config["GEOCRM_CURRENCY"], locale=_locale()))


def local_datetime(value: datetime | None, style: str = "day", empty: str = "—") -> str:
    """A stored naive-UTC (or aware) moment in the company zone, in the locale's format.

    The default ``day`` style is weekday, date and minutes, as people write them:
    2026년 11월 26일 (목) 오후 2:15 / 2026年11月26日(木) 14:15 / Thu, Nov 26, 2026, 2:15 PM.
    Other styles (short, medium, long, full) are Babel's.
    """
    if value is None:
        return empty
    if style != "day":
        return str(format_datetime(value, style))
    locale = _locale()
    moment = to_user_timezone(value)
    hours = "Hm" if "H" in locale.time_formats["short"].pattern else "hm"
    return str(
        get_datetime_format("medium", locale=locale)
        .replace("{1}", format_skeleton("yMMMEd", moment, locale=locale))
        .replace("{0}", format_skeleton(hours, moment, locale=locale))
    )


def local_time(value: datetime | None, empty: str = "") -> str:
    """Hours and minutes of a stored moment in the company zone (오후 2:15 / 14:15 / 2:15 PM)."""
    if value is None:
        return empty
    locale = _locale()
    hours = "Hm" if "H" in locale.time_formats["short"].pattern else "hm"
    return str(format_skeleton(hours, to_user_timezone(value), locale=locale))


def local_date(value: date | datetime | None, style: str = "day", empty: str = "—") -> str:
    """A date in the locale's format (a datetime is first moved to the company zone)."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    if style != "day":
        return str(format_date(value, style))
    return str(format_skeleton("yMMMEd", value, locale=_locale()))


#: The distance units a company may show (``GEOCRM_DISTANCE_UNIT``); stored values are metres.
DISTANCE_UNITS = ("km", "mi")
METRES_PER_MILE = 1609.344
METRES_PER_FOOT = 0.3048


def distance_unit() -> str:
    """``km`` or ``mi``, as the company set ``GEOCRM_DISTANCE_UNIT`` (checked at start-up)."""
    return str(current_app.config.get("GEOCRM_DISTANCE_UNIT") or "km")


def distance(metres: float | int | None, empty: str = "—", *, small: bool = True) -> str:
    """A distance stored in metres in the company's unit, formatted by Babel for the locale:
    850 m / 12.3 km (12.3km in Korean), or 500 ft / 7.6 mi with ``GEOCRM_DISTANCE_UNIT=mi``.
    Below one unit it shows metres (feet) unless ``small`` is False (a day's drive)."""
    if metres is None or metres == "":
        return empty
    value = float(metres)
    locale = _locale()
    if distance_unit() == "mi":
        if small and value < METRES_PER_MILE / 10:
            return str(format_unit(round(value / METRES_PER_FOOT), "length-foot",
                                   length="short", format="#,##0", locale=locale))
        return str(format_unit(value / METRES_PER_MILE, "length-mile", length="short",
                               format="#,##0.0", locale=locale))
    if small and value < 1000:
        return str(format_unit(round(value), "length-meter", length="short", format="#,##0",
                               locale=locale))
    return str(format_unit(value / 1000, "length-kilometer", length="short", format="#,##0.0",
                           locale=locale))


def week_start() -> int:
    """The first day of a calendar week for this reader, 0 = Monday … 6 = Sunday.

    Per locale, as people there print calendars: Sunday in Korea, Japan and the US, Monday in
    most of Europe. The territory is the company's country (``GEOCRM_HOLIDAY_COUNTRY``) when
    the language is spoken there (en + FI: Monday), else the language's own (ko: KR, ja: JP).
    """
    locale = _locale()
    country = str(current_app.config.get("GEOCRM_HOLIDAY_COUNTRY") or "").upper()
    for tag in ([f"{locale.language}_{country}"] if country else []) + [locale.language]:
        try:
            parsed = Locale.parse(tag)
        except (UnknownLocaleError, ValueError):
            continue
        territory = parsed.territory or str(
            get_global("likely_subtags").get(parsed.language, "")).rsplit("_", 1)[-1]
        try:
            return int(Locale.parse(f"und_{territory}").first_week_day)
        except (UnknownLocaleError, ValueError):
            continue
    return 0


TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def catalogue(locale: str) -> dict[str, str | list[str]]:
    """Every translated message of ``locale`` (msgid -> text), for the field app's JSON.

    Read from the ``.po`` file (the committed source, so it needs no compile step) and cached
    until the file changes. English is the source: its catalogue is empty, the app shows the
    msgid itself. Fuzzy or empty entries are left out (the app falls back to English), and a
    plural message maps to its list of forms.
    """
    if locale not in LOCALES:
        raise KeyError(locale)
    if locale == "en":
        return {}
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    return _read_catalogue(str(path), path.stat().st_mtime_ns)


def catalogue_digest() -> str:
    """A short fingerprint of every catalogue: the field app's worker version carries it."""
    digest = hashlib.sha1(usedforsecurity=False)
    for locale in LOCALES[1:]:
        digest.update(locale.encode())
        digest.update(json.dumps(catalogue(locale), sort_keys=True).encode())
    return digest.hexdigest()[:10]


@lru_cache(maxsize=8)
def _read_catalogue(path: str, mtime_ns: int) -> dict[str, str | list[str]]:
    with open(path, "rb") as fh:
        catalog = read_po(fh)
    out: dict[str, str | list[str]] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not message.string:
            continue
        if isinstance(message.id, str):
            out[message.id] = str(message.string)
        elif all(message.string):
            out[message.id[0]] = [str(form) for form in message.string]
    return out


def check_settings(config: dict[str, Any]) -> None:
    """Refuse to start with a locale or currency nobody can use (a clear error, not a 500)."""
    loc = config.get("GEOCRM_DEFAULT_LOCALE") or "en"
    if loc not in LOCALES:
        raise RuntimeError(
            f"GEOCRM_DEFAULT_LOCALE={loc!r} is not one of {', '.join(LOCALES)}"
        )
    currency = str(config.get("GEOCRM_CURRENCY") or "")
    if currency not in list_currencies():
        raise RuntimeError(f"GEOCRM_CURRENCY={currency!r} is not an ISO 4217 code (e.g. EUR, KRW)")
    unit = config.get("GEOCRM_DISTANCE_UNIT") or "km"
    if unit not in DISTANCE_UNITS:
        raise RuntimeError(f"GEOCRM_DISTANCE_UNIT={unit!r} is not one of km, mi")


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with GeoCRM's selectors and register the filters templates use."""
    check_settings(app.config)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel caches the locale on ``g``, i.e. per app context; a context shared by several
    # requests (the test client inside an app context, a CLI that serves) would keep the first
    # request's language. Each request decides afresh.
    app.before_request(refresh)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["job_progress"] = progress_text
    app.jinja_env.filters["distance"] = distance
    app.jinja_env.filters["number"] = format_number  # 12,345 / 12 345 / 12.345 per locale

    @app.context_processor
    def _locale_context() -> dict[str, Any]:
        return {
            "current_locale": current_locale(),
            "locales": LOCALE_NAMES,
            "distance_unit": distance_unit(),
            "week_start": week_start(),
        }
