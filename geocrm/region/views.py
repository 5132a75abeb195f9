"""The admin's region page: what is loaded, load a newer extract (a job with progress)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from geocrm.access import roles_required
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.i18n import progress_text
from geocrm.jobs import get_job_for, job_json, submit_job
from geocrm.models import Role
from geocrm.region import jobs as region_jobs  # noqa: F401 - teaches the progress words
from geocrm.region.basemap import (
    basemap_file,
    basemap_status,
    basemap_version,
    offline_basemap,
)
from geocrm.region.services import region_dir, region_info
from geocrm.region.travel import road_server, travel_mode

bp = Blueprint("region", __name__, url_prefix="/region")
JOB_FUNC = "geocrm.region.jobs:load_region_job"
SUFFIXES = (".osm.pbf", ".pbf", ".osm")




@bp.app_template_filter("region_progress")
def region_progress(message: str | None) -> str:
    """A region load's progress message in the reader's language (geocrm.region.jobs teaches
    its forms to geocrm.i18n.progress_text; as written when unknown)."""
    return progress_text(message)


@bp.route("/")
@roles_required(Role.ADMIN)
def index() -> Any:
    """The loaded region and the form to load another."""
    return _index_page(None)


def _index_page(error: str | None) -> str:
    """The region page: the loaded region, the basemap the maps draw, the load form."""
    return render_template("region/index.html", info=region_info(), basemap=basemap_status(),
                           mode=travel_mode() or "default", road_server=road_server(),
                           error=error)


@bp.route("/load", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def load() -> Any:
    """Store the uploaded extract and load it in the background (the job page shows how far)."""
    demo = request.form.get("demo") == "1"
    kwargs: dict[str, Any] = {"demo": True}
    if not demo:
        upload = request.files.get("extract")
        filename = (upload.filename or "") if upload is not None else ""
        try:
            if upload is None or not filename:
                raise ValidationError("extract", _("choose an .osm.pbf file"))
            if not filename.lower().endswith(SUFFIXES):
                raise ValidationError(
                    "extract", _("%(file)s is not an .osm.pbf or .osm file", file=repr(filename)))
        except ValidationError as err:
            return _index_page(err.message), 422
        incoming = region_dir() / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        suffix = ".osm" if filename.lower().endswith(".osm") else ".osm.pbf"
        path = incoming / f"{secrets.token_hex(8)}{suffix}"
        upload.save(path)
        kwargs = {"path": str(path), "name": filename.split(".")[0][:80] or None}
    job = submit_job("region_load", JOB_FUNC, kwargs, current_user.id)
    return redirect(url_for("region.job", job_id=job.id))


@bp.route("/jobs/<int:job_id>")
@roles_required(Role.ADMIN)
def job(job_id: int) -> Any:
    """A region load running in the background: its progress, then what it built."""
    return render_template("region/job.html", job=job_json(get_job_for(job_id, current_user)))


@bp.route("/basemap.pmtiles")
@login_required
def basemap() -> Any:
    """The vector basemap every map draws, read with HTTP range requests (206)."""
    path = basemap_file()
    if path is None:
        abort(404)
    return _archive(path)


@bp.route("/basemap/offline.pmtiles")
@login_required
def offline() -> Any:
    """The part of the basemap the field app keeps offline for this user (within the budget)."""
    found = offline_basemap(current_user)
    if found is None:
        abort(404)
    return _archive(found[0])


def _archive(path: Any) -> Any:
    """A PMTiles file with ranges (206 + Content-Range, 416 past the end), ETag and
    Last-Modified. Its URL carries the file's version (``?v=``): when it matches, the browser
    may keep it for a week; any other URL must revalidate (a newer region replaced it)."""
    try:
        response = send_file(path, mimetype="application/vnd.pmtiles", conditional=True,
                             etag=True, max_age=None)
    except RequestedRangeNotSatisfiable as err:  # keep its Content-Range (RFC 9110 15.5.17)
        return current_app.response_class(status=416, headers=err.get_headers())
    fresh = request.args.get("v") == basemap_version(path)
    response.headers["Cache-Control"] = (
        "private, max-age=604800, immutable" if fresh else "private, no-cache")
    return response
