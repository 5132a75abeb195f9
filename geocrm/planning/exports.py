"""Plan exports: navigation links, an iCalendar file per rep, CSV.

Navigation apps cap how much of a route fits in one link, so a day is split into legs
(checked against each provider's documentation, 2026):

* **Google Maps** (Maps URLs, ``/maps/dir/?api=1``): origin, destination and at most
  **9 waypoints** per URL (the documented limit; some mobile browsers take fewer, the app
  takes 9). A leg therefore covers 10 new points and the next leg starts where it ended.
* **Apple Maps** (Map Links, ``maps.apple.com/?saddr=&daddr=``): directions between **two
  points**; one link per leg of the chain home → stop 1 → … → home.
* **Waze** (``waze.com/ul?ll=…&navigate=yes``): **one destination**, from wherever the phone
  is; one link per stop, and one back home.
* **Naver Map** (``nmap://route/car?slat=…&dlat=…&v1lat=…&appname=…``): origin, destination and
  at most **5 waypoints** (``v1``…``v5``); ``appname`` (the calling app or web page) is required,
  from ``GEOCRM_NAVER_APPNAME``. When the app is absent the link falls back to Naver's web
  directions (``map.naver.com``), which take only the leg's start and end: the page says so.
* **Kakao Map** (``kakaomap://route?sp=lat,lon&ep=lat,lon&by=CAR``): **two points** (no
  waypoints in the scheme); one link per leg, with the mobile-web fallback
  ``map.kakao.com/link/by/car/<name>,lat,lon/<name>,lat,lon``.

Korean reps navigate with Naver or Kakao (Google's driving directions do not work in Korea), so
every provider is offered; which one is first is the rep's choice
(``geocrm.maps.web.default_nav_app``).

The iCalendar output follows RFC 5545: CRLF line ends, lines folded at 75 octets (never
inside a UTF-8 character), TEXT values escaped (backslash, ``;``, ``,``, newlines), a stable
UID per stop, DTSTAMP, and times in UTC (``Z``), which every calendar converts to the
reader's zone without needing a VTIMEZONE block.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from geocrm.csvout import SafeWriter
from geocrm.i18n import label
from geocrm.planning.base import hhmm, to_utc
from geocrm.planning.read import PlanView

GOOGLE_MAX_WAYPOINTS = 9
NAVER_MAX_WAYPOINTS = 5
Point = tuple[float, float]


def _ll(p: Point) -> str:
    return f"{p[0]:.6f},{p[1]:.6f}"


def route_points(plan: PlanView) -> list[Point]:
    """Where the day starts (home, or where the rep was when it was planned), every stop in
    order, home again."""
    return [plan.start_point] + [(s.lat, s.lon) for s in plan.stops] + [plan.home]


def split_legs(points: Sequence[Point], max_points: int) -> list[list[Point]]:
    """Consecutive chunks of at most ``max_points``, each starting where the last ended."""
    if max_points < 2:
        raise ValueError("a leg needs at least an origin and a destination")
    if len(points) < 2:
        return []
    legs = []
    i = 0
    while i < len(points) - 1:
        leg = list(points[i : i + max_points])
        legs.append(leg)
        i += len(leg) - 1
    return legs


def google_links(points: Sequence[Point], max_waypoints: int = GOOGLE_MAX_WAYPOINTS) -> list[str]:
    """Google Maps directions URLs covering the whole chain, ``max_waypoints`` per URL."""
    links = []
    for leg in split_legs(points, max_waypoints + 2):
        query = {"api": "1", "origin": _ll(leg[0]), "destination": _ll(leg[-1]),
                 "travelmode": "driving"}
        if len(leg) > 2:
            query["waypoints"] = "|".join(_ll(p) for p in leg[1:-1])
        links.append("https://www.google.com/maps/dir/?" + urlencode(query, safe=","))
    return links


def apple_links(points: Sequence[Point]) -> list[str]:
    """Apple Maps driving directions, one link per leg (the scheme takes two points)."""
    return [
        "https://maps.apple.com/?" + urlencode(
            {"saddr": _ll(a), "daddr": _ll(b), "dirflg": "d"}, safe=",")
        for a, b in split_legs(points, 2)
    ]


def waze_links(points: Sequence[Point]) -> list[str]:
    """Waze navigation to each point after the first (Waze starts from the phone's position)."""
    return ["https://waze.com/ul?" + urlencode({"ll": _ll(p), "navigate": "yes"}, safe=",")
            for p in points[1:]]


def _label(name: str) -> str:
    """A stop's name as a URL path/parameter part (Kakao's link splits on ``,`` and ``/``)."""
    return " ".join(name.replace(",", " ").replace("/", " ").split())[:60] or "-"


def naver_links(points: Sequence[Point], names: Sequence[str], appname: str,
                max_waypoints: int = NAVER_MAX_WAYPOINTS) -> list[dict[str, str]]:
    """Naver Map driving routes covering the chain: ``app`` (``nmap://``) with up to
    ``max_waypoints`` via points per leg, and ``web``, the browser fallback for that leg.

    ``names[i]`` names ``points[i]``; ``appname`` is the identifier Naver requires.
    """
    if not appname:
        raise ValueError("Naver Map links need an appname (GEOCRM_NAVER_APPNAME)")
    if len(names) != len(points):
        raise ValueError("one name per point")
    links = []
    start = 0
    for leg in split_legs(points, max_waypoints + 2):
        legnames = names[start : start + len(leg)]
        start += len(leg) - 1
        query: dict[str, str] = {
            "slat": f"{leg[0][0]:.6f}", "slng": f"{leg[0][1]:.6f}", "sname": _label(legnames[0]),
            "dlat": f"{leg[-1][0]:.6f}", "dlng": f"{leg[-1][1]:.6f}",
            "dname": _label(legnames[-1]),
        }
        for i, (p, name) in enumerate(zip(leg[1:-1], legnames[1:-1], strict=True), start=1):
            query |= {f"v{i}lat": f"{p[0]:.6f}", f"v{i}lng": f"{p[1]:.6f}",
                      f"v{i}name": _label(name)}
        query["appname"] = appname
        web = {"menu": "route", "pathType": "0",
               "slat": query["slat"], "slng": query["slng"], "stext": query["sname"],
               "elat": query["dlat"], "elng": query["dlng"], "etext": query["dname"]}
        links.append({"app": "nmap://route/car?" + urlencode(query),
                      "web": "https://map.naver.com/index.nhn?" + urlencode(web)})
    return links


def kakao_links(points: Sequence[Point], names: Sequence[str]) -> list[dict[str, str]]:
    """Kakao Map driving directions, one per leg (its scheme takes a start and an end only):
    ``app`` (``kakaomap://route``) and ``web``, its mobile-web fallback."""
    if len(names) != len(points):
        raise ValueError("one name per point")
    links = []
    for i, (a, b) in enumerate(split_legs(points, 2)):
        ends = "/".join(f"{quote(_label(n), safe='')},{p[0]:.6f},{p[1]:.6f}"
                        for n, p in ((names[i], a), (names[i + 1], b)))
        links.append({
            "app": "kakaomap://route?" + urlencode({"sp": _ll(a), "ep": _ll(b), "by": "CAR"},
                                                   safe=","),
            "web": "https://map.kakao.com/link/by/car/" + ends,
        })
    return links


# -- iCalendar ---------------------------------------------------------------------------------
def ics_escape(text: str) -> str:
    """RFC 5545 TEXT escaping (section 3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str, limit: int = 75) -> str:
    """Fold a content line into CRLF-joined pieces of at most ``limit`` octets (3.1)."""
    data = line.encode("utf-8")
    if len(data) <= limit:
        return line
    pieces: list[str] = []
    start = 0
    room = limit
    while start < len(data):
        end = min(len(data), start + room)
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a character
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start = end
        room = limit - 1  # continuation lines begin with one space
    return "\r\n ".join(pieces)


def _utc_stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def ics_stamp(value: datetime) -> str:
    """A UTC date-time as iCalendar writes it (``20261126T141500Z``)."""
    return _utc_stamp(value)


def stop_events(plan: PlanView, tz: ZoneInfo, *, domain: str, stamp: str) -> list[str]:
    """The VEVENT lines of one plan's stops (shared by the export and the calendar feed)."""
    lines: list[str] = []
    for s in plan.stops:
        if s.start is None or s.departure is None:
            continue
        begin = to_utc(plan.day, s.start, tz)
        end = to_utc(plan.day, max(s.departure, s.start), tz)
        description = [_("Stop %(num)s of %(total)s for %(name)s", num=s.seq,
                         total=len(plan.stops), name=plan.rep_name),
                       _("Arrive %(arrival)s, visit %(start)s–%(end)s", arrival=hhmm(s.arrival),
                         start=hhmm(s.start), end=hhmm(s.departure))]
        if s.pinned:
            description.append(_("Pinned by the planner"))
        lines += [
            "BEGIN:VEVENT",
            f"UID:geocrm-plan{plan.id}-stop{s.id}@{domain}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc_stamp(begin)}",
            f"DTEND:{_utc_stamp(end)}",
            f"SUMMARY:{ics_escape(f'{s.seq}. {s.name}')}",
            f"LOCATION:{ics_escape(s.address or s.name)}",
            f"GEO:{s.lat:.6f};{s.lon:.6f}",
            f"DESCRIPTION:{ics_escape(chr(10).join(description))}",
            "STATUS:CONFIRMED",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    return lines


def calendar_text(events: Sequence[str], calendar_name: str, *,
                  extra: Sequence[str] = ()) -> str:
    """One VCALENDAR around event lines, folded and CRLF-ended as RFC 5545 wants."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//GeoCRM//Route plans//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{ics_escape(calendar_name)}",
        *extra,
        *events,
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def plans_ics(plans: Sequence[PlanView], tz: ZoneInfo, *, domain: str,
              now: datetime | None = None, calendar_name: str = "Route plan") -> str:
    """One VCALENDAR with a VEVENT per stop of ``plans`` (a rep's day or days)."""
    stamp = _utc_stamp(now or datetime.now(UTC).replace(tzinfo=None))
    events: list[str] = []
    for plan in plans:
        events += stop_events(plan, tz, domain=domain, stamp=stamp)
    return calendar_text(events, calendar_name)


# -- CSV ---------------------------------------------------------------------------------------
CSV_HEADER = ["date", "rep", "seq", "account_id", "account", "address", "lat", "lon",
              "arrival", "start", "departure", "wait_min", "travel_min", "distance_km",
              "pinned", "status"]
#: The CSV's header as people read it (a spreadsheet opened by a rep), per language.
CSV_LABELS = {
    "date": _l("Date"), "rep": _l("Sales rep"), "seq": _l("Stop"), "account_id": _l("ID"),
    "account": _l("Account"), "address": _l("Address"), "lat": _l("Latitude"),
    "lon": _l("Longitude"), "arrival": _l("Arrival"), "start": _l("Visit start"),
    "departure": _l("Departure"), "wait_min": _l("Wait (min)"), "travel_min": _l("Drive (min)"),
    "distance_km": _l("Distance (km)"), "pinned": _l("Pinned"), "status": _l("Status"),
}


def plans_csv(plans: Sequence[PlanView], *, keys: bool = False) -> str:
    """The plans' stops as CSV; the header (and yes/no, the status) in the reader's language,
    or the stable keys with ``keys=True``."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(CSV_HEADER if keys else [str(CSV_LABELS[k]) for k in CSV_HEADER])
    yes, no = ("yes", "no") if keys else (_("yes"), _("no"))
    for plan in plans:
        for s in plan.stops:
            writer.writerow((
                plan.day.isoformat(), plan.rep_name, s.seq, s.account_id, s.name, s.address,
                f"{s.lat:.6f}", f"{s.lon:.6f}", hhmm(s.arrival), hhmm(s.start),
                hhmm(s.departure), round(s.wait_s / 60), round(s.travel_s / 60),
                f"{s.distance_m / 1000:.2f}", yes if s.pinned else no,
                s.status if keys else label(s.status),
            ))
    return out.getvalue()


def export_filename(rep_name: str, day: date, ext: str) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in rep_name).strip("-").lower() or "rep"
    return f"route-{safe}-{day.isoformat()}.{ext}"
