"""Territory changes as background jobs (``geocrm.jobs``), for sets too large for a request.

The job functions call the same services as the pages (which flush, never commit): the job
runner commits the territories, the moved accounts, their history and the revision
together with the job's ``done`` status, or rolls all of it back and records ``failed``.
Small changes stay synchronous (see :func:`use_job`), so the editor answers at once.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.i18n import progress_form
from geocrm.jobs import report_progress
from geocrm.models import User
from geocrm.territory_admin import balancing, transfer

DEFAULT_THRESHOLD = 20_000

#: The jobs' progress, in English (logs, the job API); the job page shows it in its reader's
#: language through geocrm.i18n.progress_text, taught here.
READING = "reading the file and re-assigning accounts"
RESHAPING = "reshaping territories and re-assigning accounts"
progress_form(re.escape(READING), lambda m: _("reading the file and re-assigning accounts"))
progress_form(re.escape(RESHAPING), lambda m: _("reshaping territories and re-assigning accounts"))


def use_job(accounts: int) -> bool:
    """Whether a change touching about ``accounts`` accounts should run in the background."""
    limit = current_app.config.get("GEOCRM_TERRITORY_JOB_ACCOUNTS", DEFAULT_THRESHOLD)
    return accounts >= int(limit)


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFoundError(_("No user %(id)s.", id=user_id))
    return user


def apply_import_job(token: str, user_id: int, assume_crs: str | None = None,
                     name_column: str | None = None, layer: str | None = None) -> dict[str, Any]:
    """Apply a previewed territory file (job body; the runner commits)."""
    report_progress(0.05, READING)
    user = _user(user_id)
    rev = transfer.apply_import(token, user, assume_crs=assume_crs,
                                name_column=name_column, layer=layer)
    outside, _total = transfer.accounts_outside(user, limit=0)
    return {"revision": rev.id, "summary": rev.summary, "summary_note": rev.summary_note,
            "moved": len(rev.moved), "outside": outside}


def apply_balance_job(proposal_id: int, user_id: int) -> dict[str, Any]:
    """Apply a previewed balance (job body; the runner commits)."""
    report_progress(0.05, RESHAPING)
    rev = balancing.apply_balance(_user(user_id), proposal_id)
    return {"revision": rev.id, "summary": rev.summary, "summary_note": rev.summary_note,
            "moved": len(rev.moved)}
