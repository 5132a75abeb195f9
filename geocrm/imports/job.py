"""The account import as a background job (the API's upload, issue 18).

The upload page imports while the person waits; a script uploads and polls instead. The job
runs :func:`geocrm.imports.services.import_accounts` on the stored upload — the same rules,
all or nothing — and keeps what it answered (counts, rejects, duplicates) as the job's
result, in the sentences' stored form (each reader sees them in their own language).
:func:`geocrm.jobs.run_job` commits the import with the job's status; rows left without
coordinates are then geocoded by a job queued right after that commit
(:func:`geocrm.imports.services.after_import`, as on the upload page).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from geocrm import jobs
from geocrm.errors import NotFoundError
from geocrm.extensions import db
from geocrm.imports import services
from geocrm.models import User
from geocrm.uploads import ACCOUNT_IMPORTS as uploads

JOB_KIND = "account_import"
JOB_FUNC = "geocrm.imports.job:import_upload_job"
#: Rejects and duplicates kept with the job: enough to fix a file, bounded for the table.
MAX_LISTED = 10_000


def import_upload_job(token: str, user_id: int, mapping: dict[str, str] | None = None,
                      dry_run: bool = False, filename: str = "", source: str = "",
                      ) -> dict[str, Any]:
    """Import the upload ``token`` of ``user_id``; the result is what the API shows.

    ``filename`` and ``source`` are the upload's own (read from its metadata); the job keeps
    them among its arguments so a list of imports can name each without opening the file.
    """
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise NotFoundError("The user who uploaded the file is gone.")
    data, meta = uploads.read(token, user_id)
    jobs.report_progress(0.05, "importing")
    result = services.import_accounts(
        data, filename=meta["filename"], user=user, source=meta["source"], mapping=mapping,
        snapshot=bool(meta.get("snapshot")), dry_run=dry_run,
        encoding=meta.get("encoding") or None)
    del data
    uploads.discard(token)  # its rejects live on in the result
    # The same follow-up as the upload page: rows without coordinates get geocoded (queued
    # once run_job has committed the import).
    services.after_import(result, user_id)
    return {
        "status": result.status,
        "dry_run": dry_run,
        "filename": result.filename,
        "batch_id": result.batch_id,
        "counts": result.counts,
        "mapping": result.mapping,
        "seen_before": result.seen_before,
        "notes": [str(n) for n in result.notes[:200]],
        "rejects_total": len(result.rejects),
        "rejects": [dataclasses.asdict(r) for r in result.rejects[:MAX_LISTED]],
        "duplicates": [dataclasses.asdict(d) for d in result.duplicates[:MAX_LISTED]],
        "conflicts": len(result.conflicts),
    }
