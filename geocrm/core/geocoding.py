"""The account rules of geocoding: whose pin the geocoder may move, and "an address change
re-geocodes".

* **People and check-ins win.** A pin a person placed (``manual``) or a verified check-in
  corrected (``checkin``) is never moved by the geocoder, whatever happens to the address;
  :func:`may_geocode` is the one test, used by the background job and the marks below.
* **An address change re-geocodes.** Whatever changes an account's address (the desk form, the
  API PATCH, the phone's offline edit, a merge) goes through the ORM, so one ``before_flush``
  hook sees it: the account is marked *pending* in ``account_geocodes`` in the same
  transaction, and after the commit a background geocoding job is queued when a geocoder is
  configured (``GEOCRM_GEOCODER`` or the region's address index). Without one, the marks wait
  for ``flask geocode run``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from geocrm.extensions import db
from geocrm.i18n import label
from geocrm.jobs import submit_job
from geocrm.models import Account
from geocrm.models.accounts import LocationSource
from geocrm.models.geocoding import AccountGeocode, GeocodeStatus
from geocrm.models.planning import Job, JobStatus

log = logging.getLogger(__name__)

#: Pins the geocoder never moves: a person's, and a verified check-in's.
PROTECTED_SOURCES = frozenset({LocationSource.MANUAL.value, LocationSource.CHECKIN.value})
#: What makes an address (the structured parts where the model has them).
ADDRESS_FIELDS = tuple(f for f in ("address", "street", "housenumber", "postcode", "city",
                                   "district", "region", "country") if hasattr(Account, f))
#: Below this ``location_confidence`` a pin is "somewhere near" (the geocoder's street,
#: postcode or town; see geocrm.geocoding.services.SCORES): Data health lists it, maps draw it
#: hollow, and a verified check-in offers to correct it from farther away.
LOW_CONFIDENCE = 0.5
JOB_KIND = "geocode"
JOB_FUNC = "geocrm.geocoding.jobs:geocode_pending_job"
_QUEUE_FLAG = "geocrm_geocode_queue"
_SKIP = "geocrm_geocode_skip"
_QUEUE_USER = "geocrm_geocode_queue_user"


def may_geocode(account: Account) -> bool:
    """Whether the geocoder may (re)place this account's pin."""
    return (account.location_source or "") not in PROTECTED_SOURCES


def addresses_path() -> Path:
    """Where the region's address index lives (beside its road graph in the instance folder)."""
    return Path(current_app.instance_path) / "region" / "addresses.npz"


def is_low_confidence(account: Account) -> bool:
    """Whether the account's pin is only approximately placed."""
    return account.lat is not None and account.location_confidence is not None and \
        account.location_confidence < LOW_CONFIDENCE


def pin_provenance(account: Account) -> dict[str, Any]:
    """Where the pin came from, in the reader's language ("geocoder, street only"), and
    whether it is a low-confidence one: what a map popup and the account page show."""
    if account.lat is None or account.lon is None:
        return {"location": None, "low_confidence": False}
    parts = [label(account.location_source)] if account.location_source else []
    if account.location_source == LocationSource.GEOCODER.value:
        row = db.session.get(AccountGeocode, account.id)
        if row is not None and row.confidence:
            parts.append(label(row.confidence))
    return {"location": ", ".join(parts) or None, "low_confidence": is_low_confidence(account)}


def geocoder_configured() -> bool:
    """A geocoder is set (``GEOCRM_GEOCODER``) or the region's address index is loaded."""
    if not has_app_context():
        return False
    choice = str(current_app.config.get("GEOCRM_GEOCODER") or "").strip().lower()
    if choice == "off":
        return False
    return bool(choice) or addresses_path().exists()


def mark_pending(session: Session, account_ids: list[int]) -> None:
    """Mark accounts for the geocoder (flushes nothing itself; callers' transaction)."""
    with session.no_autoflush:
        for account_id in account_ids:
            row = session.get(AccountGeocode, account_id)
            if row is None:
                session.add(AccountGeocode(account_id=account_id,
                                           status=GeocodeStatus.PENDING.value))
            else:
                row.status = GeocodeStatus.PENDING.value
                row.error = None


def skip_marks(session: Session, account_id: int) -> None:
    """This transaction's address change of ``account_id`` is not one to geocode: the address
    was read from the pin (reverse geocoding), so the pin is already where it belongs."""
    session.info.setdefault(_SKIP, set()).add(account_id)


def _address_changed(account: Account) -> bool:
    """The address changed and the pin did not come with it (an import row with both, an
    edit that moved the pin too: that pin is the answer already)."""
    state = inspect(account)
    if state.attrs.lat.history.has_changes() or state.attrs.lon.history.has_changes():
        return False
    return any(state.attrs[f].history.has_changes() for f in ADDRESS_FIELDS)


@event.listens_for(Session, "before_flush")
def _mark_address_changes(session: Session, _context: Any, _instances: Any) -> None:
    skip = session.info.get(_SKIP, set())
    changed = [obj.id for obj in session.dirty
               if isinstance(obj, Account) and obj.id is not None and obj.id not in skip
               and may_geocode(obj) and _address_changed(obj)]
    if changed:
        mark_pending(session, changed)
        session.info[_QUEUE_FLAG] = True


def queue_after_commit(session: Session, user_id: int | None) -> None:
    """Queue the geocoding job (for ``user_id``) once ``session`` commits: for writers that
    must not commit themselves, such as an import running as a background job
    (:func:`geocrm.jobs.run_job` commits its writes with the job's status)."""
    session.info[_QUEUE_FLAG] = True
    session.info[_QUEUE_USER] = user_id


@event.listens_for(Session, "after_commit")
def _queue_after_commit(session: Session) -> None:
    session.info.pop(_SKIP, None)
    user_id = session.info.pop(_QUEUE_USER, None)
    if not session.info.pop(_QUEUE_FLAG, False) or not geocoder_configured():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with app.app_context():  # a fresh session: this one is mid-commit
            queue_geocoding(user_id)
    except Exception:  # noqa: BLE001 - a pin can wait; the edit must not fail for it
        log.warning("could not queue the geocoding job", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_marks(session: Session) -> None:
    session.info.pop(_QUEUE_FLAG, None)
    session.info.pop(_QUEUE_USER, None)
    session.info.pop(_SKIP, None)


def queue_geocoding(user_id: int | None) -> Job | None:
    """Queue the background geocoding job if there is pending work and none is queued yet.

    Commits (the job row must be visible to the worker). Returns the job that will do the
    work (an already queued or running one counts), or None when nothing is pending.
    """
    pending = db.session.scalar(select(AccountGeocode.account_id).where(
        AccountGeocode.status == GeocodeStatus.PENDING.value).limit(1))
    if pending is None:
        return None
    running = db.session.scalar(
        select(Job).where(Job.kind == JOB_KIND,
                          Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .order_by(Job.id.desc()).limit(1))
    if running is not None:
        return running
    return submit_job(JOB_KIND, JOB_FUNC, {"user_id": user_id}, user_id)
