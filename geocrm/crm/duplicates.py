"""Duplicate accounts: find likely pairs, let a user pick each field, merge keeping history.

Finding lives in :mod:`geocrm.crm.duplicate_scan` (blocking by grid cell and name token,
identifiers and addresses; scoring with numpy and rapidfuzz; no database), and its names
are importable from here too. This module reads the accounts a user may see, turns a
scan into pages of :class:`Candidate` rows, and runs large scans in the background.

A large scan (``GEOCRM_DUPLICATE_JOB_ACCOUNTS`` visible accounts, default 10,000) runs as a
background job (:mod:`geocrm.jobs`) with progress, and its result is stored on the job
row, so paging reads it instead of scanning again; the page names its age and offers to
scan again. Smaller sets are scanned on every page view. Either way a user only ever
sees pairs of accounts they may see (:func:`geocrm.access.visible_accounts`), checked
again when a stored page is shown.

Merging lives in :mod:`geocrm.crm.merging` (one transaction, every row re-pointed, the
user's pick per field); its names are importable from here too, as the pages use them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import format_number, get_translations, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.core import audit
from geocrm.core.names import normalise_name
from geocrm.crm.duplicate_scan import (
    MAX_BLOCK,
    MAX_DISTANCE_M,
    MAX_IDENTIFIER_GROUP,
    MAX_UNLOCATED_NAME_GROUP,
    MIN_NAME_SIMILARITY,
    MIN_NAME_SIMILARITY_UNLOCATED,
    WHY_ADDRESS,
    WHY_EMAIL,
    WHY_EXTERNAL,
    WHY_PHONE,
    Columns,
    Progress,
    Scan,
    normalise_email,
    normalise_phone,
    scan,
)
from geocrm.crm.merging import (
    MERGE_FIELDS,
    MERGE_LABELS,
    SIDES,
    SNAPSHOT_FIELDS,
    MergePreview,
    MergeRow,
    check_taken,
    default_choice,
    merge_accounts,
    merge_preview,
)
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import progress_form, progress_text
from geocrm.jobs import report_progress, submit_job
from geocrm.models import Account, User
from geocrm.models.crm import DuplicateDismissal
from geocrm.models.planning import Job

MAX_STORED = 20_000
PER_PAGE = 100
JOB_KIND = "duplicates"
JOB_FUNC = "geocrm.crm.duplicates:scan_job"
DEFAULT_JOB_ACCOUNTS = 10_000


@dataclass(frozen=True)
class Candidate:
    """A likely duplicate pair (``a_id < b_id``), how sure we are and why.

    ``status`` is ``open`` for a pair to act on; a stored scan shown later may find it
    ``dismissed``, or ``gone`` (merged, archived or no longer visible to the user).
    """

    a_id: int
    b_id: int
    a_name: str
    b_name: str
    score: float
    name_similarity: float
    distance_m: float | None
    reasons: tuple[str, ...]
    status: str = "open"


@dataclass(frozen=True)
class Page:
    """One page of candidates and where it sits among all of them."""

    candidates: list[Candidate]
    number: int
    pages: int
    total: int
    per_page: int

    @property
    def first(self) -> int:
        """1-based position of the page's first candidate (0 when there are none)."""
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return self.first + len(self.candidates) - 1 if self.candidates else 0

    def links(self) -> list[int | None]:
        """Page numbers to link: the first, the last, and two either side (None is a gap)."""
        wanted = {1, self.pages, *range(self.number - 2, self.number + 3)}
        out: list[int | None] = []
        for n in sorted(p for p in wanted if 1 <= p <= self.pages):
            if out and out[-1] is not None and n > out[-1] + 1:
                out.append(None)
            out.append(n)
        return out



def _reasons(similarity: float, distance: float | None, why: int) -> tuple[str, ...]:
    out = []
    if similarity >= 0.5:
        pct = f"{similarity:.0%}"
        out.append(_l("names %(pct)s alike", pct=pct))
    out += [text for bit, text in ((WHY_PHONE, _l("same phone")), (WHY_EMAIL, _l("same email")),
                                   (WHY_EXTERNAL, _l("same external id")),
                                   (WHY_ADDRESS, _l("same address")))
            if why & bit]
    if distance is not None:
        metres = f"{distance:.0f}"
        out.append(_l("%(metres)s m apart", metres=metres))
    return tuple(out)


def _candidate(row: Sequence[Any], a_name: str, b_name: str, status: str = "open") -> Candidate:
    a, b, score, sim, distance, why = row
    return Candidate(int(a), int(b), a_name, b_name, float(score), float(sim),
                     None if distance is None else float(distance),
                     _reasons(float(sim), distance, int(why)), status)


# -- reading the accounts, and the user's view of a scan -----------------------------------


def _visible(user: User) -> Any:
    return visible_accounts(user).where(Account.archived.is_(False))


def load_columns(user: User, territory_id: int | None = None) -> Columns:
    """The accounts ``user`` may see (not archived), as scan input; ``territory_id`` puts
    only that territory's accounts in focus."""
    stmt = _visible(user).with_only_columns(
        Account.id, Account.name, Account.name_key, Account.lat, Account.lon, Account.phone,
        Account.email, Account.external_id, Account.address_key, Account.territory_id,
    ).order_by(Account.id)
    ids, names, keys, lat, lon, phones, emails, externals, addresses, focus = (
        [], [], [], [], [], [], [], [], [], [])
    for r in db.session.execute(stmt):
        ids.append(r.id)
        names.append(r.name)
        keys.append(r.name_key or normalise_name(r.name))
        lat.append(math.nan if r.lat is None or r.lon is None else r.lat)
        lon.append(math.nan if r.lat is None or r.lon is None else r.lon)
        phones.append(normalise_phone(r.phone))
        emails.append(normalise_email(r.email))
        externals.append((r.external_id or "").strip() or None)
        addresses.append(r.address_key or None)
        focus.append(territory_id is None or r.territory_id == territory_id)
    return Columns(np.asarray(ids, dtype=np.int64), names, keys,
                   np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64),
                   phones, emails, externals, addresses, np.asarray(focus, dtype=bool))


def _dismissed() -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in db.session.execute(
        select(DuplicateDismissal.account_a_id, DuplicateDismissal.account_b_id))]


def scan_for(user: User, territory_id: int | None = None,
             progress: Progress | None = None) -> Scan:
    """Scan the accounts ``user`` may see, leaving out pairs marked as not duplicates."""
    return scan(load_columns(user, territory_id), _dismissed(), progress)


def find_duplicates(user: User, *, territory_id: int | None = None,
                    limit: int | None = None) -> list[Candidate]:
    """Likely duplicate pairs among the accounts ``user`` may see, best first.

    Pairs a user dismissed are left out. ``territory_id`` narrows the search to pairs
    with at least one account in that territory.
    """
    return candidates(scan_for(user, territory_id), limit)


def candidates(found: Scan, limit: int | None = None) -> list[Candidate]:
    """The pairs of a scan as :class:`Candidate` rows, best first."""
    return [_candidate(row, found.names[row[0]], found.names[row[1]])
            for row in found.rows(0, limit)]


def page_of(candidates: Sequence[Candidate], number: int,
            per_page: int | None = None) -> Page:
    """Page ``number`` (1-based, clamped to the pages there are) of all the candidates."""
    per_page = per_page or PER_PAGE
    pages = max(1, math.ceil(len(candidates) / per_page))
    number = min(max(1, number), pages)
    return Page(list(candidates[(number - 1) * per_page:number * per_page]), number, pages,
                len(candidates), per_page)


def use_job(user: User) -> bool:
    """Whether the user's scan is large enough to run in the background."""
    limit = int(current_app.config.get("GEOCRM_DUPLICATE_JOB_ACCOUNTS", DEFAULT_JOB_ACCOUNTS))
    count = db.session.scalar(_visible(user).with_only_columns(func.count(Account.id)))
    return int(count or 0) >= limit


def _scans(user: User, territory_id: int | None) -> list[Job]:
    """The user's scans with this territory filter, newest first."""
    jobs = db.session.scalars(
        select(Job).where(Job.kind == JOB_KIND, Job.created_by_id == user.id)
        .order_by(Job.id.desc()).limit(50))
    return [j for j in jobs if (j.kwargs or {}).get("territory_id") == territory_id]


def start_scan(user: User, territory_id: int | None = None) -> Job:
    """Queue a background scan for ``user`` (committed by :func:`geocrm.jobs.submit_job`).

    The pairs stored by the user's earlier scans with the same filter are dropped (their
    rows stay, as the job history): only the newest is ever shown, and each may hold
    thousands of pairs.
    """
    for old in _scans(user, territory_id):
        if old.finished and old.result is not None:
            old.result = None
    return submit_job(JOB_KIND, JOB_FUNC, {"user_id": user.id, "territory_id": territory_id},
                      user.id)


def latest_scan(user: User, territory_id: int | None = None) -> Job | None:
    """The user's most recent background scan with this territory filter, if any."""
    scans = _scans(user, territory_id)
    return scans[0] if scans else None


def scan_job(user_id: int, territory_id: int | None = None) -> dict[str, Any]:
    """Job body: scan for the user and keep the pairs (best first) as the job's result.

    Reads only; the stored pairs carry ids and figures, never names: the page reads the
    names when it shows them, through the user's scope.
    """
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFoundError(f"No user {user_id}.")
    report_progress(0.02, "reading the accounts")
    found = scan_for(user, territory_id, report_progress)
    return {"accounts": found.accounts, "total": len(found), "crowded": found.crowded,
            "pairs": list(found.rows(0, MAX_STORED)), "territory_id": territory_id}


def stored_page(user: User, result: dict[str, Any], number: int,
                per_page: int | None = None) -> Page:
    """A page of a stored scan, read again through the user's scope.

    Positions never move (every pair stays on its page); a pair merged, archived, out of
    the user's scope or dismissed since the scan is shown with that status, without names
    the user may not see.
    """
    per_page = per_page or PER_PAGE
    pairs = result.get("pairs") or []
    pages = max(1, math.ceil(len(pairs) / per_page))
    number = min(max(1, number), pages)
    rows = pairs[(number - 1) * per_page:number * per_page]
    ids = {int(i) for r in rows for i in r[:2]}
    names: dict[int, str] = {int(i): name for i, name in db.session.execute(
        _visible(user).with_only_columns(Account.id, Account.name).where(Account.id.in_(ids))
    )} if ids else {}
    dismissed = {(int(a), int(b)) for a, b in db.session.execute(
        select(DuplicateDismissal.account_a_id, DuplicateDismissal.account_b_id).where(
            DuplicateDismissal.account_a_id.in_(ids)))} if ids else set()
    out = []
    for r in rows:
        a, b = int(r[0]), int(r[1])
        if a not in names or b not in names:
            out.append(_candidate(r, "—", "—", "gone"))
        elif (a, b) in dismissed:
            out.append(_candidate(r, names[a], names[b], "dismissed"))
        else:
            out.append(_candidate(r, names[a], names[b]))
    return Page(out, number, pages, len(pairs), per_page)


def dismiss_pair(user: User, a_id: int, b_id: int) -> None:
    """Remember that two accounts are not duplicates (both must be visible)."""
    if a_id == b_id:
        raise ValidationError("account", _l("an account is not its own duplicate"))
    a, b = sorted((get_account_or_404(a_id, user).id, get_account_or_404(b_id, user).id))
    if db.session.scalar(select(DuplicateDismissal.id).where(
            DuplicateDismissal.account_a_id == a, DuplicateDismissal.account_b_id == b)) is None:
        db.session.add(DuplicateDismissal(account_a_id=a, account_b_id=b,
                                          dismissed_by_id=user.id))
        audit.record(user, "account", a, "not_duplicate", {"other": b})
        db.session.flush()


__all__ = [
    "MAX_BLOCK", "MAX_IDENTIFIER_GROUP", "MAX_UNLOCATED_NAME_GROUP", "Progress",
    "MAX_DISTANCE_M", "MERGE_FIELDS", "MERGE_LABELS", "MIN_NAME_SIMILARITY",
    "MIN_NAME_SIMILARITY_UNLOCATED", "SIDES", "SNAPSHOT_FIELDS", "Candidate", "Columns",
    "candidates", "MergePreview", "MergeRow", "Page", "Scan", "check_taken", "default_choice",
    "dismiss_pair", "find_duplicates", "latest_scan", "load_columns", "merge_accounts",
    "merge_preview", "normalise_email", "normalise_phone", "page_of",
    "scan", "scan_for", "scan_job", "start_scan", "stored_page", "use_job",
]


# -- the background scan's progress, in the reader's language --------------------------------------
# The job runs without a page language and keeps its progress as plain English (jobs.py);
# the list page puts each known step into words through geocrm.i18n.progress_text, taught
# here (the one rule every job's progress follows). An unknown message is shown as it is.
_PROGRESS = (
    (r"reading the accounts", lambda m: gettext("reading the accounts")),
    (r"comparing names in neighbouring cells",
     lambda m: gettext("comparing names in neighbouring cells")),
    (r"blocking (?P<n>[\d,]+) accounts",
     lambda m: gettext("grouping %(num)s accounts by name and place",
                       num=format_number(int(m["n"].replace(",", ""))))),
    (r"scoring the pairs found", lambda m: gettext("scoring the pairs found")),
    (r"(?P<n>[\d,]+) likely pairs",
     # the catalogue's plural form for the count, the count itself with the locale's separators
     # (flask_babel's ngettext fills %(num)s itself and refuses another num)
     lambda m: get_translations().ngettext("%(num)s likely pair", "%(num)s likely pairs",
                                           int(m["n"].replace(",", "")))
     % {"num": format_number(int(m["n"].replace(",", "")))}),
)


for _pattern, _words in _PROGRESS:
    progress_form(_pattern, _words)


def progress_words(message: str | None) -> str:
    """A scan job's progress message in the reader's language."""
    return progress_text(message)
