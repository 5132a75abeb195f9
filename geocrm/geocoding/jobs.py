"""The background side: geocoding the pending accounts, filling addresses from pins.

Both run through :func:`geocrm.jobs.run_job` (in-process or on an RQ worker), report progress
as they go and commit nothing themselves (the runner commits with the ``done`` status). An
engine that stops answering ends the run early with what it had placed; the rest stay pending
and the job's result says why.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.geocoding import services
from geocrm.geocoding.engine import current_geocoder
from geocrm.jobs import report_progress
from geocrm.models import User


def _no_geocoder() -> ValidationError:
    return ValidationError("GEOCRM_GEOCODER", _(
        "No geocoder: build the region's address index (flask geocode index) or set "
        "GEOCRM_GEOCODER."))


def _user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def geocode_pending_job(user_id: int | None = None) -> dict[str, Any]:
    """Place every pending account from its address (see :func:`services.geocode_pending`)."""
    geocoder = current_geocoder()
    if geocoder is None:
        raise _no_geocoder()
    report_progress(0.01, "reading pending accounts")
    run = services.geocode_pending(geocoder, user=_user(user_id), progress=report_progress)
    return run.as_dict()


def fill_addresses_job(user_id: int | None = None, limit: int | None = None) -> dict[str, Any]:
    """Give pinned accounts without an address the one at their pin."""
    geocoder = current_geocoder()
    if geocoder is None:
        raise _no_geocoder()
    return services.fill_missing_addresses(geocoder, user=_user(user_id), limit=limit,
                                           progress=report_progress)
