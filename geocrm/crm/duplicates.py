"""Duplicate accounts: find likely pairs, let a user pick each field, merge keeping history.

Finding: every visible account is compared only with accounts that share a *block* (the
same normalised phone, email, external id or name, or a name token in a neighbouring
~250 m grid cell), so 100,000 accounts cost a few seconds, not 5·10⁹ comparisons. A pair
is a candidate when an identifier matches, or the names are alike and the places close.

Merging lives in :mod:`geocrm.crm.merging` (one transaction, every row re-pointed, the
user's pick per field); its names are importable from here too, as the pages use them.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from geocrm.access import get_account_or_404, visible_accounts
from geocrm.core import audit
from geocrm.core.accounts import (
    normalise_name,
)
from geocrm.core.names import name_similarity
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
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, User
from geocrm.models.crm import DuplicateDismissal
from geocrm.spatial import haversine_m

MAX_DISTANCE_M = 250.0
MIN_NAME_SIMILARITY = 0.8
# Same name, one of the two without a pin: only an almost identical name is enough.
MIN_NAME_SIMILARITY_UNLOCATED = 0.95
_CELL_DEG = 0.0025  # ~280 m of latitude
_DIGITS = re.compile(r"\D+")


def normalise_phone(phone: str | None) -> str | None:
    """The last 9 digits: ``+358 40 123 4567`` and ``040-123 4567`` are the same number."""
    if not phone:
        return None
    digits = _DIGITS.sub("", phone)
    return digits[-9:] if len(digits) >= 6 else None


def normalise_email(email: str | None) -> str | None:
    text = (email or "").strip().lower()
    return text if "@" in text else None


@dataclass(frozen=True)
class Candidate:
    """A likely duplicate pair (``a_id < b_id``), how sure we are and why."""

    a_id: int
    b_id: int
    a_name: str
    b_name: str
    score: float
    name_similarity: float
    distance_m: float | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Row:
    id: int
    name: str
    key: str
    lat: float | None
    lon: float | None
    phone: str | None
    email: str | None
    external_id: str | None


def _tokens(key: str) -> set[str]:
    words = key.split()
    out = {w for w in words if len(w) >= 3} or set(words)
    compact = key.replace(" ", "")
    if len(compact) >= 4:
        out.add("^" + compact[:4])  # catches typos in every word but the start
    return out


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _CELL_DEG), math.floor(lon / _CELL_DEG)


def _score(a: _Row, b: _Row) -> Candidate | None:
    sim = name_similarity(a.key, b.key)
    distance = None
    if a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None:
        distance = haversine_m(a.lat, a.lon, b.lat, b.lon)
    reasons: list[str] = []
    ids = False
    if a.phone and a.phone == b.phone:
        reasons.append("same phone")
        ids = True
    if a.email and a.email == b.email:
        reasons.append("same email")
        ids = True
    if a.external_id and a.external_id == b.external_id:
        reasons.append("same external id")
        ids = True
    near = distance is not None and distance <= MAX_DISTANCE_M
    alike = (near and sim >= MIN_NAME_SIMILARITY) or (
        distance is None and sim >= MIN_NAME_SIMILARITY_UNLOCATED
    )
    if not (ids or alike):
        return None
    if sim >= 0.5:
        reasons.insert(0, f"names {sim:.0%} alike")
    if distance is not None:
        reasons.append(f"{distance:.0f} m apart")
    proximity = 0.0 if distance is None else max(0.0, 1.0 - distance / MAX_DISTANCE_M)
    score = 0.5 * sim + 0.2 * proximity + (0.3 if ids else 0.0)
    first, second = (a, b) if a.id < b.id else (b, a)
    return Candidate(
        first.id, second.id, first.name, second.name, round(score, 3), round(sim, 3),
        None if distance is None else round(distance, 1), tuple(reasons),
    )


def find_duplicates(
    user: User, *, territory_id: int | None = None, limit: int = 200
) -> list[Candidate]:
    """Likely duplicate pairs among the accounts ``user`` may see, best first.

    Pairs a user dismissed are left out. ``territory_id`` narrows the search to pairs
    with at least one account in that territory.
    """
    stmt = visible_accounts(user).where(Account.archived.is_(False)).with_only_columns(
        Account.id, Account.name, Account.name_key, Account.lat, Account.lon, Account.phone,
        Account.email, Account.external_id, Account.territory_id,
    )
    rows: list[_Row] = []
    focus: set[int] = set()
    for r in db.session.execute(stmt):
        rows.append(_Row(int(r.id), r.name, r.name_key or normalise_name(r.name), r.lat, r.lon,
                         normalise_phone(r.phone), normalise_email(r.email),
                         (r.external_id or "").strip() or None))
        if territory_id is None or r.territory_id == territory_id:
            focus.add(int(r.id))
    by_id = {r.id: r for r in rows}
    pairs: set[tuple[int, int]] = set()

    def add_group(ids: Iterable[int]) -> None:
        group = sorted(ids)
        if len(group) > 50:  # a shared switchboard number is not 50 duplicates
            return
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                pairs.add((a, b))

    for attr in ("phone", "email", "external_id", "key"):
        groups: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            value = getattr(r, attr)
            if value:
                groups[value].append(r.id)
        for ids in groups.values():
            if len(ids) > 1:
                add_group(ids)
    blocks: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for r in rows:
        if r.lat is not None and r.lon is not None and r.key:
            cell = _cell(r.lat, r.lon)
            for token in _tokens(r.key):
                blocks[(cell[0], cell[1], token)].append(r.id)
    for r in rows:
        if r.lat is None or r.lon is None or not r.key:
            continue
        cy, cx = _cell(r.lat, r.lon)
        span = max(1, math.ceil(1 / max(math.cos(math.radians(r.lat)), 0.05)))
        for token in _tokens(r.key):
            for dy in (-1, 0, 1):
                for dx in range(-span, span + 1):
                    for other in blocks.get((cy + dy, cx + dx, token), ()):
                        if other > r.id:
                            pairs.add((r.id, other))
    dismissed = {
        (int(a), int(b))
        for a, b in db.session.execute(
            select(DuplicateDismissal.account_a_id, DuplicateDismissal.account_b_id)
        )
    }
    found = []
    for a, b in pairs:
        if (a, b) in dismissed or (a not in focus and b not in focus):
            continue
        cand = _score(by_id[a], by_id[b])
        if cand is not None:
            found.append(cand)
    found.sort(key=lambda c: (-c.score, c.a_id, c.b_id))
    return found[:limit]


def dismiss_pair(user: User, a_id: int, b_id: int) -> None:
    """Remember that two accounts are not duplicates (both must be visible)."""
    if a_id == b_id:
        raise ValidationError("account", "an account is not its own duplicate")
    a, b = sorted((get_account_or_404(a_id, user).id, get_account_or_404(b_id, user).id))
    if db.session.scalar(select(DuplicateDismissal.id).where(
            DuplicateDismissal.account_a_id == a, DuplicateDismissal.account_b_id == b)) is None:
        db.session.add(DuplicateDismissal(account_a_id=a, account_b_id=b,
                                          dismissed_by_id=user.id))
        audit.record(user, "account", a, "not_duplicate", {"other": b})
        db.session.flush()


__all__ = [
    "MAX_DISTANCE_M", "MERGE_FIELDS", "MERGE_LABELS", "MIN_NAME_SIMILARITY",
    "MIN_NAME_SIMILARITY_UNLOCATED", "SIDES", "SNAPSHOT_FIELDS", "Candidate", "MergePreview",
    "MergeRow", "check_taken", "default_choice", "dismiss_pair", "find_duplicates",
    "merge_accounts", "merge_preview", "normalise_email", "normalise_phone",
]
