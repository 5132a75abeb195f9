"""The planner's request: read from the form, checked against scope, frozen into a run.

:class:`PlanRequest` is the one shape of the question: the form builds it, :func:`start_run`
stores it in ``PlanRun.params`` (:meth:`PlanRequest.to_json`), and the job reads it back
whole (:meth:`PlanRequest.from_json`, which checks every field) instead of piecemeal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from geocrm import jobs
from geocrm.access import visible_accounts
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Account, PlanStatus, User
from geocrm.models.planning import Job, PlanRun
from geocrm.params import need_date, need_int, to_bool, to_ids
from geocrm.planning.base import MAX_ACCOUNTS, MAX_DAYS
from geocrm.planning.lockset import run_locks
from geocrm.planning.scope import (
    plannable_reps,
    rep_territory_ids,
    segment_choices,
    segment_lookup,
    territory_choices,
)

JOB_FUNC = "geocrm.planning.job:plan_run_job"


@dataclass(frozen=True)
class Pin:
    """A stop the planner pinned: this account goes to this rep on this day."""

    account_id: int
    rep_id: int
    day: date


@dataclass(frozen=True)
class PlanRequest:
    """What the planner asked for, checked against what they may see.

    Once stored, ``account_ids`` is the frozen selection (the accounts that matched when the
    run started), so a re-run asks the same question even if the filters would match more.
    """

    rep_ids: tuple[int, ...]
    start: date
    end: date
    territory_ids: tuple[int, ...] = ()
    segment_id: int | None = None
    overdue_only: bool = False
    account_ids: tuple[int, ...] = ()
    by_cadence: bool = False  # spread visits over the days by each account's cadence
    holidays: tuple[date, ...] = ()
    pins: tuple[Pin, ...] = ()
    # Locked stops and routes for a re-run, as ``geocrm.planning.locks.RunLocks.to_json``.
    locks: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError("end", _("is before the start date"))

    @property
    def days(self) -> list[date]:
        """Every date from ``start`` to ``end``."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def pin_map(self) -> dict[int, tuple[int, date]]:
        """account id → (rep id, day), how the problem builders read pins."""
        return {p.account_id: (p.rep_id, p.day) for p in self.pins}

    def to_json(self) -> dict[str, Any]:
        """What ``PlanRun.params`` keeps (plain JSON; :meth:`from_json` reads it back)."""
        return {
            "rep_ids": list(self.rep_ids),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "account_ids": list(self.account_ids),
            "territory_ids": list(self.territory_ids),
            "segment_id": self.segment_id,
            "overdue_only": self.overdue_only,
            "by_cadence": self.by_cadence,
            "holidays": [d.isoformat() for d in self.holidays],
            "pins": {str(p.account_id): {"rep_id": p.rep_id, "date": p.day.isoformat()}
                     for p in self.pins},
            **({"locks": dict(self.locks)} if self.locks else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanRequest:
        """Read stored parameters back; a wrong value is a :class:`ValidationError` naming it."""
        if not isinstance(data, Mapping):
            raise ValidationError("params", "must be an object")
        pins_raw = data.get("pins") or {}
        if not isinstance(pins_raw, Mapping):
            raise ValidationError("pins", "must be an object of account id → rep and date")
        pins = []
        for key, value in pins_raw.items():
            if not isinstance(value, Mapping):
                raise ValidationError("pins", f"pin {key!r} must have rep_id and date")
            pins.append(Pin(need_int(key, "pins"), need_int(value.get("rep_id"), "pins"),
                            need_date(value.get("date"), "pins")))
        segment = data.get("segment_id")
        return cls(
            rep_ids=to_ids(data.get("rep_ids"), "rep_ids"),
            start=need_date(data.get("start"), "start"),
            end=need_date(data.get("end") or data.get("start"), "end"),
            territory_ids=to_ids(data.get("territory_ids") or [], "territory_ids"),
            segment_id=None if segment is None else need_int(segment, "segment_id"),
            overdue_only=to_bool(data.get("overdue_only", False), "overdue_only", strict=True),
            account_ids=to_ids(data.get("account_ids") or [], "account_ids"),
            by_cadence=to_bool(data.get("by_cadence", False), "by_cadence", strict=True),
            holidays=tuple(need_date(d, "holidays") for d in data.get("holidays") or []),
            pins=tuple(sorted(pins, key=lambda p: p.account_id)),
            locks=data.get("locks") or None,
        )

    @classmethod
    def of_run(cls, run: PlanRun) -> PlanRequest:
        """The request a run was started with (its dates from the run's own columns)."""
        return cls.from_json({**(run.params or {}), "start": run.start_date.isoformat(),
                              "end": run.end_date.isoformat()})


# -- the form -----------------------------------------------------------------------------------
def parse_plan_request(form: Any, user: User) -> PlanRequest:
    """Read the planner form (a ``MultiDict``); every problem names its field."""
    getlist = form.getlist if hasattr(form, "getlist") else (lambda k: form.get(k) or [])
    rep_ids = to_ids(getlist("rep"), "rep")
    if not rep_ids:
        raise ValidationError("rep", _("choose at least one rep"))
    allowed = {r.id: r for r in plannable_reps(user)}
    for rid in rep_ids:
        if rid not in allowed:
            raise ValidationError("rep", _("rep %(id)s is not one you can plan for", id=rid))
    for rid in rep_ids:
        check_rep(allowed[rid])
    start = need_date(form.get("start"), "start")
    end = need_date(form.get("end") or form.get("start"), "end")
    if end < start:
        raise ValidationError("end", _("is before the start date"))
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError("end", _("plan at most %(num)s days at once", num=MAX_DAYS))
    territory_ids = to_ids(getlist("territory"), "territory")
    known = {t.id for t in territory_choices(user)}
    for tid in territory_ids:
        if tid not in known:
            raise ValidationError("territory", _("territory %(id)s is not one you can see", id=tid))
    segment_id = None
    if form.get("segment"):
        if segment_lookup() is None:
            raise ValidationError("segment", _("segments are not available"))
        segment_id = to_ids([form.get("segment")], "segment")[0]
        if segment_id not in {sid for sid, _ in segment_choices(user)}:
            raise ValidationError("segment", _("segment %(id)s is not one you can open",
                                                 id=segment_id))
    overdue = to_bool(form.get("overdue"), "overdue")
    by_cadence = to_bool(form.get("cadence"), "cadence")
    holidays = tuple(
        need_date(v.strip(), "holidays") for v in str(form.get("holidays") or "").split(",")
        if v.strip())
    if by_cadence and overdue:
        raise ValidationError("cadence", _("choose either cadence spreading or overdue only: "
                                           "a cadence plan already places each visit when it "
                                           "falls due"))
    return PlanRequest(rep_ids, start, end, territory_ids, segment_id, overdue,
                       to_ids(getlist("account"), "account"), by_cadence, holidays)


def check_rep(rep: User) -> None:
    """A rep can be planned: a home base and a working day that is a window."""
    if rep.home_lat is None or rep.home_lon is None:
        raise ValidationError("rep", _("%(name)s has no home base (home latitude/longitude)",
                                             name=rep.name))
    if not 0 <= rep.work_start_min < rep.work_end_min <= 24 * 60:
        raise ValidationError("rep", _("%(name)s's working hours are not a window",
                                             name=rep.name))


def is_overdue(account: Account, day: date) -> bool:
    """Due by cadence on ``day``: never visited, or the last visit is ``cadence`` days old.

    Same rule as the field app's Today list (``days since - cadence >= 0``).
    """
    if not account.cadence_days:
        return False
    if account.last_visit_at is None:
        return True
    return (day - account.last_visit_at.date()).days >= account.cadence_days


def select_accounts(user: User, req: PlanRequest) -> list[Account]:
    """The accounts to plan: visible to ``user``, located, not archived, filtered as asked.

    Without a territory, segment or explicit list, the chosen reps' own accounts (their
    territories' and the ones they own): what a rep could see on Today anyway.
    """
    stmt = visible_accounts(user).where(
        Account.archived.is_(False), Account.lat.is_not(None), Account.lon.is_not(None)
    )
    if req.territory_ids:
        stmt = stmt.where(Account.territory_id.in_(req.territory_ids))
    if req.segment_id is not None:
        lookup = segment_lookup()
        assert lookup is not None
        ids = list(lookup(req.segment_id, user))
        stmt = stmt.where(Account.id.in_(ids))
    if req.account_ids:
        stmt = stmt.where(Account.id.in_(req.account_ids))
    if not (req.territory_ids or req.segment_id is not None or req.account_ids):
        tids = set().union(*rep_territory_ids(req.rep_ids).values())
        stmt = stmt.where(Account.territory_id.in_(tids) | Account.owner_id.in_(req.rep_ids))
    accounts = list(db.session.scalars(stmt.order_by(Account.priority, Account.id)))
    if req.overdue_only:
        accounts = [a for a in accounts if is_overdue(a, req.start)]
    if len(accounts) > MAX_ACCOUNTS:
        raise ValidationError(
            "account", _("%(num)s accounts match; narrow it to at most %(most)s",
                         num=len(accounts), most=MAX_ACCOUNTS)
        )
    return accounts


def start_run(user: User, req: PlanRequest) -> PlanRun:
    """Freeze the request (with the matching accounts) into a run and queue the planning job.

    Queuing stores the job row where a worker can see it, so the run is committed with it;
    the caller owns everything else in the transaction.
    """
    accounts = select_accounts(user, req)
    if not accounts:
        raise ValidationError("account", _("no account with a location matches the selection"))
    frozen = replace(req, account_ids=tuple(a.id for a in accounts))
    run = PlanRun(created_by_id=user.id, start_date=req.start, end_date=req.end,
                  status=PlanStatus.DRAFT, params=frozen.to_json(), result={})
    db.session.add(run)
    db.session.flush()
    submit(run, user)
    return run


def submit(run: PlanRun, user: User) -> Job:
    """Queue the planning job for ``run`` and link it (flushes; the job row is committed by
    :func:`geocrm.jobs.submit_job`, which must hand it to a worker)."""
    job = jobs.submit_job("plan", JOB_FUNC, {"run_id": run.id}, user.id)
    run.job_id = job.id
    db.session.flush()
    return job


def rerun_request(run: PlanRun) -> PlanRequest:
    """The run's request with the planner's current pins (pinned draft stops keep their rep
    and day); accounts added by hand from outside the first selection join it."""
    req = PlanRequest.of_run(run)
    drafts = [p for p in run.plans if p.status == PlanStatus.DRAFT]
    pins = tuple(Pin(s.account_id, p.rep_id, p.plan_date) for p in drafts
                 for s in p.stops if s.pinned or s.position_locked or p.route_locked)
    account_ids = list(req.account_ids)
    account_ids += [p.account_id for p in pins if p.account_id not in account_ids]
    locks = run_locks(drafts)
    return replace(req, pins=tuple(sorted(pins, key=lambda p: p.account_id)),
                   account_ids=tuple(account_ids),
                   locks=locks.to_json() if locks.positions or locks.routes else None)


def load_reps(req: PlanRequest) -> list[User]:
    """The request's reps that are still active, each checked (home base, working day)."""
    reps = list(db.session.scalars(
        select(User).where(User.id.in_(req.rep_ids), User.active.is_(True))
        .order_by(User.name, User.id)))
    if not reps:
        raise ValidationError("rep", _("none of the run's reps is active any more"))
    for rep in reps:
        check_rep(rep)
    return reps


def load_accounts(req: PlanRequest) -> list[Account]:
    """The request's frozen selection, minus accounts archived or unlocated since."""
    return list(db.session.scalars(
        select(Account).where(Account.id.in_(req.account_ids), Account.archived.is_(False),
                              Account.lat.is_not(None), Account.lon.is_not(None))
        .order_by(Account.priority, Account.id)))
