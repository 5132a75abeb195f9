"""Territory management pages (issue 4). Thin views over ``geocrm.territory_admin.services``.

The map editor talks JSON to the ``/territories/api/...`` endpoints (POST, CSRF token in
the ``X-CSRFToken`` header); domain errors come back as problem documents naming the field.
Import and the balance wizard are ordinary forms with a preview step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shapely
from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from shapely.geometry import mapping, shape

from geocrm.access import roles_required
from geocrm.colours import palette_colour
from geocrm.core.transaction import commits
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import progress_text
from geocrm.jobs import get_job_for, job_json, submit_job
from geocrm.maps.build import leaflet_handles, render_parts
from geocrm.maps.services import DEFAULT_BOUNDS
from geocrm.maps.web import configured_tiles, draw_assets, local_assets
from geocrm.models.territory_admin import TerritoryRevision
from geocrm.params import to_float, to_ids
from geocrm.territory_admin import balancing, jobs, revisions, transfer
from geocrm.territory_admin import notes as tn
from geocrm.territory_admin import services as svc
from geocrm.territory_admin.maps import (
    EditorAssets,
    PreviewLayer,
    build_editor_map,
    build_preview_map,
)
from territories.geodesy import latlon_bounds

bp = Blueprint("territory_admin", __name__, url_prefix="/territories")
@bp.app_template_filter("territory_progress")
def territory_progress(message: str | None) -> str:
    """A territory job's progress message as the reader reads it (geocrm.territory_admin.jobs
    teaches its forms to geocrm.i18n.progress_text; as written when unknown)."""
    return progress_text(message)


@bp.app_template_filter("territory_note")
def territory_note(value: Any) -> str:
    """A territory change's summary or note (coded, or an older row's English) for its reader."""
    return tn.render(value)


@bp.app_template_filter("assignment_reason")
def assignment_reason(reason: str | None) -> str:
    """Why an account changed territory (its history row's reason) in the reader's language."""
    return tn.assignment_reason(reason)


@bp.app_template_filter("territory_summary")
def territory_summary(revision: TerritoryRevision) -> str:
    """A revision's kind and summary, "edit: reshaped 'North'", in its reader's language."""
    return _("%(kind)s: %(summary)s", kind=tn.kind(revision.kind), summary=tn.summary(revision))

EDIT = svc.EDIT_ROLES
VIEW = svc.VIEW_ROLES


def _assets() -> EditorAssets:
    """Leaflet and Leaflet.draw from the one place that knows the app's asset URLs."""
    leaflet, draw = local_assets(), draw_assets()
    return EditorAssets(leaflet_js=leaflet.leaflet_js, leaflet_css=leaflet.leaflet_css,
                        draw_js=draw.js, draw_css=draw.css)


def _bounds(geoms: list[Any]) -> tuple[tuple[float, float], tuple[float, float]]:
    return latlon_bounds(geoms) or DEFAULT_BOUNDS


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("body", _("send a JSON object"))
    return body


def _done(revision: TerritoryRevision, **extra: Any) -> Any:
    """What every editor change answers: the revision to undo, its notes and moves."""
    return jsonify({
        "ok": True, "revision": revision.id, "summary": tn.summary(revision),
        "notes": tn.render_all(revision.notes), "moved": len(revision.moved),
        "undo_url": url_for("territory_admin.undo", revision_id=revision.id), **extra,
    })


# --- the editor ------------------------------------------------------------------------


@bp.route("/")
@roles_required(*VIEW)
def editor() -> Any:
    """The territory map editor (read-only for reps and planners)."""
    items = svc.visible_territories(current_user)
    editable = svc.can_edit(current_user)
    fmap = build_editor_map(_bounds([t.geom for t in items]), assets=_assets(),
                            tiles=configured_tiles(), editable=editable)
    config = {
        "editable": editable,
        "dataUrl": url_for("territory_admin.data"),
        "unassignedUrl": url_for("territory_admin.unassigned"),
        "createUrl": url_for("territory_admin.api_create"),
        "countUrl": url_for("territory_admin.api_count"),
        "territoryUrl": url_for("territory_admin.api_geometry", territory_id=0).replace(
            "/0/geometry", "/{id}/"),
        "reps": [{"id": u.id, "name": u.name} for u in svc.rep_choices()] if editable else [],
        # folium's variable names of the map and the Draw group (territory_editor.js)
        "leaflet": leaflet_handles(fmap),
    }
    return render_template("territory_admin/editor.html", parts=render_parts(fmap),
                           editor_config=config, editable=editable)


@bp.route("/data.json")
@roles_required(*VIEW)
def data() -> Any:
    """Territories with stats, overlaps and gaps for the editor."""
    response = jsonify(svc.editor_data(current_user))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/unassigned.json")
@roles_required(*VIEW)
def unassigned() -> Any:
    """Accounts in no territory (editors only; empty for others)."""
    response = jsonify(svc.unassigned_points(current_user))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/api/count", methods=["POST"])
@roles_required(*EDIT)
@commits
def api_count() -> Any:
    """How many visible accounts a drawn shape covers (before saving it)."""
    geom = svc.parse_geojson(_json().get("geometry"))
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return jsonify({"accounts": 0})
    geom = shapely.make_valid(geom)
    return jsonify({"accounts": svc.accounts_inside(geom, current_user)})


@bp.route("/api/territories", methods=["POST"])
@roles_required(*EDIT)
@commits
def api_create() -> Any:
    """Save a drawn polygon as a new territory (cut out of the user's overlapping ones)."""
    body = _json()
    t, rev = svc.create_territory(
        current_user, name=body.get("name"), geometry=body.get("geometry"),
        color=body.get("color"), priority=body.get("priority") or 0,
        manager_id=body.get("manager_id"), carve=bool(body.get("carve", True)),
        repair=bool(body.get("repair", True)),
    )
    return _done(rev, territory=t.id)


@bp.route("/api/territories/<int:territory_id>/geometry", methods=["POST"])
@roles_required(*EDIT)
@commits
def api_geometry(territory_id: int) -> Any:
    """Save an edited outline."""
    body = _json()
    rev = svc.update_geometry(current_user, territory_id, body.get("geometry"),
                              carve=bool(body.get("carve", False)),
                              repair=bool(body.get("repair", True)))
    return _done(rev, territory=territory_id)


@bp.route("/api/territories/<int:territory_id>/properties", methods=["POST"])
@roles_required(*EDIT)
@commits
def api_properties(territory_id: int) -> Any:
    """Rename, recolour, change priority (admins: manager)."""
    body = _json()
    rev = svc.update_properties(current_user, territory_id, name=body.get("name"),
                                color=body.get("color"), priority=body.get("priority"),
                                manager_id=body.get("manager_id", "keep"))
    return _done(rev, territory=territory_id)


@bp.route("/api/territories/<int:territory_id>/delete", methods=["POST"])
@roles_required(*EDIT)
@commits
def api_delete(territory_id: int) -> Any:
    """Delete a territory; its accounts are re-assigned."""
    return _done(svc.delete_territory(current_user, territory_id))


@bp.route("/api/territories/<int:territory_id>/split", methods=["POST"])
@roles_required(*EDIT)
@commits
def api_split(territory_id: int) -> Any:
    """Split with a drawn line or polygon."""
    body = _json()
    t, rev = svc.split_territory(current_user, territory_id, body.get("cutter"),
                                 new_name=body.get("name"), color=body.get("color"))
    return _done(rev, territory=t.id)


@bp.route("/api/territories/<int:territory_id>/reps", methods=["POST"])
@roles_required(*EDIT)
@commits
def api_reps(territory_id: int) -> Any:
    """Set the reps who work a territory."""
    ids = _json().get("rep_ids") or []
    if not isinstance(ids, list):
        raise ValidationError("rep_ids", _("a list of user ids"))
    return _done(svc.set_reps(current_user, territory_id, ids), territory=territory_id)


# --- history and undo ------------------------------------------------------------------


@bp.route("/history")
@roles_required(*EDIT)
def history() -> Any:
    """Recent territory changes with their undo buttons."""
    return render_template("territory_admin/history.html",
                           revisions=svc.revisions_for(current_user))


@bp.route("/revisions/<int:revision_id>/undo", methods=["POST"])
@roles_required(*EDIT)
@commits
def undo(revision_id: int) -> Any:
    """Undo one change (JSON for the editor, a redirect for the history page)."""
    rev = svc.undo(current_user, revision_id)
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify({"ok": True, "revision": rev.id,
                        "summary": _("undone: %(summary)s", summary=tn.summary(rev))})
    flash(_("Undone: %(summary)s", summary=tn.summary(rev)), "success")
    return redirect(url_for("territory_admin.history"))


# --- import and export -------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*EDIT)
@commits
def import_upload() -> Any:
    """Upload a territory file; the next page previews it."""
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ValidationError("file", _("choose a file"))
            token = transfer.save_upload(upload.filename, upload.read(), current_user)
        except ValidationError as err:
            flash(err.message, "error")
            return render_template("territory_admin/import.html"), 422
        return redirect(url_for("territory_admin.import_preview", token=token))
    return render_template("territory_admin/import.html")


def _import_options() -> dict[str, str | None]:
    source = request.form if request.method == "POST" else request.args
    return {"assume_crs": (source.get("assume_crs") or "").strip() or None,
            "name_column": (source.get("name_column") or "").strip() or None,
            "layer": (source.get("layer") or "").strip() or None}


@bp.route("/import/<token>")
@roles_required(*EDIT)
def import_preview(token: str) -> Any:
    """What the upload would create and reshape, on a map, before anything is written."""
    options = _import_options()
    try:
        preview = transfer.preview_import(token, current_user, **options)
    except ValidationError as err:
        transfer.load_upload(token, current_user)  # 404 for someone else's token
        return render_template("territory_admin/import_preview.html", preview=None,
                               error=err, token=token, options=options,
                               layers=transfer.upload_layers(token, current_user)), 422
    fmap = build_preview_map(
        [PreviewLayer("File", preview.geojson(), "#7c3aed")],
        _bounds([f.geometry for f in preview.features]), assets=_assets(),
        tiles=configured_tiles())
    return render_template("territory_admin/import_preview.html", preview=preview,
                           parts=render_parts(fmap), token=token, options=options, error=None)


@bp.route("/import/<token>/apply", methods=["POST"])
@roles_required(*EDIT)
@commits
def import_apply(token: str) -> Any:
    """Apply the previewed file in one transaction."""
    options = _import_options()
    try:
        preview = transfer.preview_import(token, current_user, **options)
        if jobs.use_job(sum(f.accounts for f in preview.features)):
            job = submit_job("territory_import", "geocrm.territory_admin.jobs:apply_import_job",
                             {"token": token, "user_id": current_user.id, **options},
                             current_user.id)
            return redirect(url_for("territory_admin.job", job_id=job.id))
        rev = transfer.apply_import(token, current_user, **options)
    except ValidationError as err:
        db.session.rollback()  # the redirect below must not commit half a change
        flash(err.message, "error")
        return redirect(url_for("territory_admin.import_preview", token=token, **{
            k: v for k, v in options.items() if v}))
    flash(_("%(summary)s; %(count)s account(s) re-assigned.", summary=tn.summary(rev),
            count=len(rev.moved)), "success")
    return redirect(url_for("territory_admin.import_done", revision_id=rev.id))


@bp.route("/import/done/<int:revision_id>")
@roles_required(*EDIT)
def import_done(revision_id: int) -> Any:
    """After a territory import: the accounts that now fall outside every territory."""
    revisions.get_revision(current_user, revision_id)  # the importer's (or an admin's) only
    count, outside = transfer.accounts_outside(current_user)
    return render_template("territory_admin/import_done.html", revision_id=revision_id,
                           count=count, outside=outside)


@bp.route("/export.<fmt>")
@roles_required(*VIEW)
def export(fmt: str) -> Any:
    """The visible territories as GeoJSON or GeoPackage."""
    content, filename, mimetype = transfer.export_territories(current_user, fmt)
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store"})


# --- balance wizard ------------------------------------------------------------------------


def _save_temp(field: str) -> Path | None:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return None
    token = transfer.save_upload(upload.filename, upload.read(), current_user)
    path, _meta = transfer.load_upload(token, current_user)
    return path


@bp.route("/balance", methods=["GET", "POST"])
@roles_required(*EDIT)
@commits
def balance() -> Any:
    """Step 1: area, reps, units, target; POST computes a proposal to preview."""
    items = svc.visible_territories(current_user)
    reps = svc.rep_choices()
    form = request.form
    if request.method == "POST":
        try:
            area_path = _save_temp("area_file") if form.get("area") == "upload" else None
            if form.get("area") == "upload" and area_path is None:
                raise ValidationError("area_file", _("upload the service area file"))
            units_path = _save_temp("units_file") if form.get("units") == "upload" else None
            req = balancing.BalanceRequest(
                territory_ids=to_ids(form.getlist("territory"), "territory"),
                area_path=area_path,
                rep_ids=to_ids(form.getlist("rep"), "rep"),
                units=form.get("units") or "hex",
                cell_km=to_float(form.get("cell_km"), "cell_km", default=None),
                units_path=units_path,
                target=to_float(form.get("target"), "target", default=None) or 1.10,
                mode=form.get("mode") or "scratch",
            )
            proposal = balancing.preview_balance(current_user, req)
        except ValidationError as err:
            flash(err.message, "error")
            return render_template("territory_admin/balance.html", territories=items,
                                   reps=reps, form=form), 422
        return redirect(url_for("territory_admin.balance_preview", proposal_id=proposal.id))
    return render_template("territory_admin/balance.html", territories=items, reps=reps,
                           form=form)


@bp.route("/balance/<int:proposal_id>")
@roles_required(*EDIT)
def balance_preview(proposal_id: int) -> Any:
    """Step 2: before and after on the map, with the numbers; apply or go back."""
    proposal = balancing.get_proposal_or_404(proposal_id, current_user)
    before = [t for t in svc.visible_territories(current_user) if t.id in proposal.replaces]
    after = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": p["geometry"],
         "properties": {"color": palette_colour(i), "name": p.get("name")}}
        for i, p in enumerate(proposal.proposal)]}
    before_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(t.geom), "properties": {}} for t in before]}
    # names on the "after" layer only: before and after share most of their names
    geoms = [t.geom for t in before] + [shape(p["geometry"]) for p in proposal.proposal]
    layers = [PreviewLayer("Before", before_fc, "#111827", dashed=True, fill_opacity=0.0),
              PreviewLayer("After", after, "#2563eb", fill_opacity=0.3)]
    moved_area = proposal.stats.get("moved_area")
    if moved_area:  # a rebalance: what changes hands, on top
        layers.append(PreviewLayer("Changes territory", {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": moved_area, "properties": {}}]},
            "#dc2626", fill_opacity=0.0, dashed=True))
    fmap = build_preview_map(layers, _bounds(geoms), assets=_assets(),
                             tiles=configured_tiles())
    colours = [palette_colour(i) for i in range(len(proposal.proposal))]
    return render_template("territory_admin/balance_preview.html", proposal=proposal,
                           parts=render_parts(fmap), colours=colours)


@bp.route("/balance/<int:proposal_id>/apply", methods=["POST"])
@roles_required(*EDIT)
@commits
def balance_apply(proposal_id: int) -> Any:
    """Step 3: apply in one transaction (a background job for large sets); undo from history."""
    proposal = balancing.get_proposal_or_404(proposal_id, current_user)
    if jobs.use_job(int(proposal.stats.get("accounts", 0))):
        job = submit_job("territory_balance", "geocrm.territory_admin.jobs:apply_balance_job",
                         {"proposal_id": proposal_id, "user_id": current_user.id},
                         current_user.id)
        return redirect(url_for("territory_admin.job", job_id=job.id))
    rev = balancing.apply_balance(current_user, proposal_id)
    flash(_("%(summary)s; %(count)s account(s) re-assigned. Undo it from the history page.",
            summary=tn.summary(rev), count=len(rev.moved)), "success")
    return redirect(url_for("territory_admin.history"))


@bp.route("/jobs/<int:job_id>")
@roles_required(*EDIT)
def job(job_id: int) -> Any:
    """A territory change running in the background: its progress, then its result."""
    found = get_job_for(job_id, current_user)
    return render_template("territory_admin/job.html", job=job_json(found))
