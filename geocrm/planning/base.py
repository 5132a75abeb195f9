"""What every planning module shares: limits, reason codes and words, keys, local time.

``routing`` works in seconds after local midnight; the database keeps naive UTC. The local
zone is ``GEOCRM_TIMEZONE`` (IANA name, default UTC; :mod:`geocrm.clock`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

import routing
from geocrm import clock
from geocrm.i18n import distance
from geocrm.models import Role

PLANNER_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER)
DAY = 24 * 3600
MAX_DAYS = 14
MAX_ACCOUNTS = 1000
LUNCH_SLACK_S = 3600  # lunch may start up to an hour after the rep's usual lunch time
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
)
# Reasons the app finds before the solver is asked (codes beside routing.Reason's).
CLOSED = "closed"
NOT_COVERED = "not_covered"
NO_REP_WORKING = "no_rep_working"
NO_CADENCE = "no_cadence"
NOT_PLANNED = "not_planned"
APP_REASON_TEXT = {
    CLOSED: "closed that day according to its opening hours",
    NOT_COVERED: "none of the chosen reps works this account's territory",
    NO_REP_WORKING: "none of the chosen reps works that day",
    NO_CADENCE: "no visit cadence set on the account",
    NOT_PLANNED: "not offered on any day",
}
# routing's wording assumes skills; ours are territories. Every other reason is shown in the
# library's own words (it knows why: a window, the shift, capacity, no room left...).
ROUTING_TEXT_OVERRIDES = {
    routing.Reason.SKILL_MISSING: "none of the chosen reps working that day covers this "
    "account's territory",
    routing.Reason.PINNED_REP_ABSENT: "pinned to a rep who does not work that day",
}


def reason_text(unassigned: routing.Unassigned) -> str:
    """The words for a visit the solver left out: the library's, in our terms."""
    return ROUTING_TEXT_OVERRIDES.get(unassigned.reason, unassigned.text)


def rep_key(user_id: int) -> str:
    """A rep's id as ``routing`` sees it."""
    return f"r{user_id}"


def visit_key(account_id: int) -> str:
    """An account's visit id as ``routing`` sees it (never shown to a person)."""
    return f"a{account_id}"


def to_utc(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    """Seconds after local midnight of ``day`` → naive UTC (how the database keeps time)."""
    local = datetime.combine(day, time(), tzinfo=tz) + timedelta(seconds=int(seconds))
    return local.astimezone(UTC).replace(tzinfo=None)


def to_local_seconds(day: date, value: datetime | None, tz: ZoneInfo) -> int | None:
    """Naive UTC → seconds after local midnight of ``day``."""
    if value is None:
        return None
    local = value.replace(tzinfo=UTC).astimezone(tz)
    midnight = datetime.combine(day, time(), tzinfo=tz)
    return int((local - midnight).total_seconds())


def local_now(tz: ZoneInfo) -> datetime:
    """Now in ``tz`` (through :func:`geocrm.clock.local_now`, the one clock)."""
    return clock.local_now().astimezone(tz)


def hhmm(seconds: int | None) -> str:
    """Seconds after midnight as ``HH:MM`` (empty for none)."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def drive_text(travel_s: int | None, distance_m: float | None = None) -> str:
    """A leg's drive as a person reads it: whole minutes, never "0 min" for a real drive.

    City legs are often under a minute; rounding them down to "0 min" read as "no data".
    Under 30 s is "<1 min"; the distance follows when known ("4 min · 1.2 km").
    """
    seconds = max(0, int(travel_s or 0))
    if seconds == 0 and not distance_m:
        return "—"
    minutes = _("<1 min") if seconds < 30 else _("%(num)s min", num=(seconds + 30) // 60)
    if distance_m is None:
        return minutes
    metres = float(distance_m)
    return f"{minutes} · {distance(metres if metres >= 1000 else round(metres / 10) * 10)}"
