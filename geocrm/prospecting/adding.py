"""Adding look-alike places as prospects in bulk: the import's rules, nothing doubled.

Split from :mod:`geocrm.prospecting.services` (which finds the places): a place becomes a
prospect through the import's row rules and bulk writer, after the import's matcher has said
it is not already an account; the owner is the chosen rep, the rep adding it, or the first
rep of the territory it falls in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select, update

from geocrm.access import team_rep_ids
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.imports.matching import Matcher
from geocrm.imports.results import ImportResult
from geocrm.imports.writing import write_import
from geocrm.models import Account, Role, User, territory_reps, utcnow
from geocrm.prospecting.services import (
    MAX_ADD,
    SOURCE,
    Area,
    area_mask,
    clean_place,
    loaded_index,
    match_existing,
    no_cycle_collection,
    region_matcher,
)


@dataclass
class Added:
    """What adding did: the new accounts, and each place not added with why."""

    account_ids: list[int]
    skipped: list[dict[str, str]]  # ref, name, why (words), other
    left_out: list[dict[str, str]]  # ref, field, reason: a field the account rules refused
    batch_id: int | None = None


def _owner_for(user: User, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    stmt = select(User).where(User.id == owner_id, User.active.is_(True),
                              User.role == Role.REP)
    team = team_rep_ids(user)
    if team is not None:
        stmt = stmt.where(User.id.in_(team))
    owner = db.session.scalars(stmt).one_or_none()
    if owner is None:
        raise ValidationError("owner", _("is not an active rep of your team"))
    return owner


def _territory_reps(territory_ids: Iterable[int]) -> dict[int, int]:
    """Each territory's first active rep (lowest id): who owns a prospect nobody chose for."""
    ids = sorted(set(territory_ids))
    if not ids:
        return {}
    out: dict[int, int] = {}
    for tid, uid in db.session.execute(
            select(territory_reps.c.territory_id, territory_reps.c.user_id)
            .join(User, User.id == territory_reps.c.user_id)
            .where(territory_reps.c.territory_id.in_(ids), User.active.is_(True),
                   User.role == Role.REP)
            .order_by(territory_reps.c.territory_id, territory_reps.c.user_id)):
        out.setdefault(tid, uid)
    return out


def add_places(user: User, refs: Any, owner_id: Any = None) -> Added:
    """Add the places ``refs`` (``["node/1", "way/2"]``) as prospects in one write.

    Each must be a place of the loaded region inside what ``user`` may work. A place that is
    already an account (by the import's rule) is skipped and said so, never doubled. The
    owner is ``owner_id`` (a rep of the user's team), else the user when a rep, else the
    first rep of the territory the place falls in. Flushes; the view commits.
    """
    with no_cycle_collection():
        return _add_places(user, refs, owner_id)


def _add_places(user: User, refs: Any, owner_id: Any) -> Added:
    index = loaded_index()
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        raise ValidationError("places", _("choose at least one place"))
    if len(refs) > MAX_ADD:
        raise ValidationError("places", _("at most %(n)d places at a time", n=MAX_ADD))
    if owner_id not in (None, "") and (isinstance(owner_id, bool)
                                       or not isinstance(owner_id, int)):
        raise ValidationError("owner", _("must be a user id"))
    owner = _owner_for(user, owner_id or None)
    positions: list[int] = []
    for ref in dict.fromkeys(refs):
        i = index.find(ref.strip())
        if i is None:
            raise ValidationError("places", _("%(ref)s is not a place of the loaded region",
                                              ref=ref[:40]))
        positions.append(i)
    mask = np.zeros(len(index), dtype=bool)
    mask[positions] = True
    if not (area_mask(index, Area("all"), user) | ~mask).all():
        raise ValidationError("places", _("some places lie outside your territories"))
    # First what the import would make of them, without writing: only the new ones go on.
    matcher, dry = region_matcher(index, mask)
    skipped: list[dict[str, str]] = []
    left_out: list[dict[str, str]] = []
    fresh: list[tuple[int, dict[str, Any]]] = []
    for number, i in enumerate(positions, start=1):
        row, refused = clean_place(index, i, number)
        name = index.details[i].get("name", "")
        if row is None:
            skipped.append({"ref": index.ref(i), "name": name, "why": _("name refused"),
                            "other": "; ".join(f"{r.field}: {r.reason}" for r in refused)})
            continue
        dup = match_existing(matcher, dry, number, row)
        if dup is not None:
            skipped.append({"ref": index.ref(i), "name": name,
                            "why": _("already in the CRM"), "other": dup.other})
            continue
        left_out += [{"ref": index.ref(i), "field": r.field, "reason": r.reason}
                     for r in refused]
        fresh.append((number, row))
    if not fresh:
        return Added([], skipped, left_out)
    now = utcnow()
    result = ImportResult(status="committed", filename="OpenStreetMap (prospecting)",
                          sha256="", rows=len(fresh))
    plan = Matcher(fresh, result, source=SOURCE, now=now).run(fresh, snapshot=False)
    write_import(plan, result, user=user, source=SOURCE, now=now)
    new = plan.created
    reps = _territory_reps(t for _, t in new if t is not None)
    owners = []
    for aid, tid in new:
        who = owner.id if owner else (user.id if user.role == Role.REP else reps.get(tid))
        if who is not None:
            owners.append({"id": aid, "owner_id": who})
    if owners:
        db.session.execute(update(Account), owners)
    db.session.flush()
    return Added([a for a, _ in new], skipped, left_out, result.batch_id)
