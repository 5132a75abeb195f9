"""What the planning job reports while it runs, in English and in the reader's language.

The job stores its progress in English (logs and the JSON job API read it as written); the
progress page shows it through :func:`geocrm.i18n.progress_text`. Each message is written by
one function here and taught to it right beside it, so a sentence and the
pattern that reads it back cannot drift apart.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from geocrm.i18n import local_date, progress_form


def counted(accounts: int, reps: int, days: int) -> str:
    """The day-by-day planner has read its input."""
    return f"{accounts} accounts, {reps} reps, {days} days"


progress_form(r"(?P<a>\d+) accounts, (?P<r>\d+) reps, (?P<d>\d+) days",
               lambda m: _("%(accounts)s accounts, %(reps)s reps, %(days)s days",
                           accounts=m["a"], reps=m["r"], days=m["d"]))


def by_cadence(accounts: int, reps: int, days: int) -> str:
    """The cadence planner has read its input."""
    return f"{accounts} accounts by cadence, {reps} reps, {days} days"


progress_form(r"(?P<a>\d+) accounts by cadence, (?P<r>\d+) reps, (?P<d>\d+) days",
               lambda m: _("%(accounts)s accounts by cadence, %(reps)s reps, %(days)s days",
                           accounts=m["a"], reps=m["r"], days=m["d"]))


def planning_day(day: date, visits: int) -> str:
    """The planner is on one day of the request."""
    return f"planning {day.isoformat()}: {visits} visits to place"


progress_form(r"planning (?P<day>\d{4}-\d{2}-\d{2}): (?P<n>\d+) visits to place",
               lambda m: _("planning %(day)s: %(num)s visits to place",
                           day=local_date(date.fromisoformat(m["day"])), num=m["n"]))

SAVING = "saving the plans"
progress_form(r"saving the plans", lambda m: _("saving the plans"))
