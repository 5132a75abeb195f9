"""The company's local time: which day "today" is for a rep, a plan or a report.

The database keeps naive UTC; a day, though, starts at local midnight. A rep in Helsinki who
opens Today at 01:30 must see today's plan, not yesterday's (UTC is still on yesterday).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from geocrm.errors import ValidationError


def local_zone() -> ZoneInfo:
    """The company's time zone (``GEOCRM_TIMEZONE``); a wrong name is a clear error."""
    name = current_app.config.get("GEOCRM_TIMEZONE") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("GEOCRM_TIMEZONE", f"{name!r} is not a time zone") from exc


def local_now() -> datetime:
    """Now, aware, in the company's zone: the one clock planning reads (tests set it here)."""
    return datetime.now(UTC).astimezone(local_zone())


def local_today(now: datetime | None = None) -> date:
    """Today's date in the company's zone (``now`` is aware, or naive UTC)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(local_zone()).date()


def local_day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """Naive-UTC [start, end) of the local ``day`` (23 or 25 hours long across DST)."""
    tz = local_zone()
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return (
        start.astimezone(UTC).replace(tzinfo=None),
        end.astimezone(UTC).replace(tzinfo=None),
    )
