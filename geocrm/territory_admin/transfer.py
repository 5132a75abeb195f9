"""Territory files in and out: upload, preview, apply (one transaction), export.

Reading goes through :func:`territories.read_territories`, so every file ends in EPSG:4326
with repaired geometry, and a file without a CRS whose coordinates are not degrees is
refused (a Shapefile in State Plane feet without its ``.prj`` must never be read as
degrees). The preview shows what apply will do — which names create a territory and
which replace the outline of an existing one, the repairs, the overlaps inside the file —
and apply re-reads the same stored upload, so it does exactly what was previewed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from flask_babel import gettext as _
from shapely.geometry import mapping
from sqlalchemy import func, select

import territories as terr
from geocrm.access import scope_accounts
from geocrm.colours import safe_colour
from geocrm.errors import NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Account, Territory, User
from geocrm.models.territory_admin import TerritoryRevision
from geocrm.territory_admin import notes as tn
from geocrm.territory_admin import services as svc
from geocrm.uploads import TERRITORY_FILES

ALLOWED = (".geojson", ".json", ".zip", ".gpkg", ".kml")
#: The most territories one file may create or reshape (a preview draws every one of them).
MAX_IMPORT_FEATURES = 2_000
NAME_COLUMNS = ("name", "Name", "NAME", "LABEL", "label", "HOOD", "title", "territory")


# --- stored uploads ----------------------------------------------------------------------


def save_upload(filename: str, data: bytes, user: User) -> str:
    """Keep an uploaded file under a random token until it is applied (a day at most)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in ALLOWED:
        raise ValidationError(
            "file", _(
                "upload GeoJSON (.geojson/.json), a zipped Shapefile (.zip), GeoPackage (.gpkg) "
                "or KML (.kml)")
        )
    if not data:
        raise ValidationError("file", _("the file is empty"))
    meta = {"user_id": user.id, "filename": Path(filename).name[:200]}
    return TERRITORY_FILES.save(data, meta, suffix=suffix)


def load_upload(token: str, user: User) -> tuple[Path, dict[str, Any]]:
    """The stored file for ``token`` if it is this user's; 404 otherwise."""
    return TERRITORY_FILES.load(token, user.id)


def discard_upload(token: str) -> None:
    TERRITORY_FILES.discard(token)


def read_file(path: Path, *, assume_crs: str | None = None, label: str = "file",
              name_column: str | None = None, layer: str | None = None) -> terr.ReadResult:
    """Read a territory file, turning the library's errors into a clear 422.

    ``assume_crs`` applies to every format (it overrides a declared CRS, and GeoJSON's
    implied WGS84); ``layer`` picks a GeoPackage layer, or ``terr.ALL_LAYERS``.
    """
    if assume_crs:
        try:
            from pyproj import CRS

            CRS.from_user_input(assume_crs)
        except Exception as exc:  # pyproj raises CRSError and friends
            raise ValidationError("crs", _(
                "%(crs)s is not a known CRS", crs=repr(assume_crs))) from exc
    try:
        return terr.read_territories(path, assume_crs=assume_crs or None,
                                     name_column=name_column, layer=layer or None)
    except terr.CRSError as exc:
        raise ValidationError("crs", tn.error_words(exc, label).replace(path.name, label)) from exc
    except terr.TerritoryError as exc:
        raise ValidationError("file", tn.error_words(exc, label).replace(path.name, label)) \
            from exc


# --- preview and apply -------------------------------------------------------------------


@dataclass
class ImportFeature:
    row: int
    name: str
    action: str  # create / replace
    territory_id: int | None
    geometry: shapely.Geometry
    area_km2: float
    accounts: int


@dataclass
class ImportPreview:
    token: str
    filename: str
    name_column: str | None
    columns: list[str]
    features: list[ImportFeature] = field(default_factory=list)
    notes: list[Any] = field(default_factory=list)  # coded (geocrm.territory_admin.notes)
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    layers: list[tuple[str, int]] = field(default_factory=list)  # polygon layers, counts
    layer: str | None = None  # the layer read (terr.ALL_LAYERS: all)
    # Located accounts that no territory would hold once this is applied: count, a sample.
    outside_count: int = 0
    outside: list[tuple[int, str]] = field(default_factory=list)

    def geojson(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": mapping(f.geometry),
             "properties": {"name": f.name, "action": f.action, "accounts": f.accounts}}
            for f in self.features]}


def _layers(path: Path, label: str) -> list[tuple[str, int]]:
    try:
        return terr.polygon_layers(path)
    except terr.TerritoryError as exc:
        raise ValidationError("file", str(exc).replace(path.name, label)) from exc


def _fields(path: Path, label: str, layer: str | None = None) -> dict[str, str]:
    """Column name → type of one layer (the first without ``layer``), without geometries."""
    try:
        import pyogrio

        info = pyogrio.read_info(path, layer=layer) if layer else pyogrio.read_info(path)
    except Exception as exc:  # pyogrio raises several types; all mean "cannot read"
        raise ValidationError("file", _(
            "%(label)s: cannot read (%(error)s)", label=label, error=exc)) from exc
    return {str(n): str(t) for n, t in zip(info["fields"], info["dtypes"], strict=True)}


def upload_layers(token: str, user: User) -> list[tuple[str, int]]:
    """The polygon layers of a stored upload ([] when it cannot be read), for the form."""
    path, meta = load_upload(token, user)
    try:
        return _layers(path, meta["filename"])
    except ValidationError:
        return []


def _unique_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Columns whose values name every feature once (non-blank and all different)."""
    out = []
    for c in columns:
        if c not in frame:
            continue
        values = [str(v).strip() for v in frame[c] if v is not None and not (
            isinstance(v, float) and pd.isna(v))]
        if len(values) == len(frame) and all(values) and len(set(values)) == len(values):
            out.append(c)
    return out


def _guess_name_column(fields: dict[str, str]) -> str | None:
    for name in NAME_COLUMNS:
        if name in fields:
            return name
    return next((n for n, t in fields.items() if t == "object"), None)


def _check_size(layers: list[tuple[str, int]], chosen: str | None, filename: str) -> None:
    """Refuse a file of more polygons than :data:`MAX_IMPORT_FEATURES`, counted from its own
    metadata before any geometry is read (issue 18: 40,000 polygons took 60 s and 213 MB to
    preview, then to draw on one page)."""
    features = sum(c for n, c in layers if chosen in (None, terr.ALL_LAYERS, n))
    if features > MAX_IMPORT_FEATURES:
        raise ValidationError("file", _(
            "%(filename)s has %(count)s polygons; a territory import takes at most %(max)s "
            "(territories, not the small areas they are made of: the balance wizard takes "
            "those)", filename=filename, count=features, max=MAX_IMPORT_FEATURES))


def _repeated_name(name: str, row: int, first: int, unique: list[str]) -> ValidationError:
    """A name the file repeats, with the column that would name every feature once."""
    if unique:
        return ValidationError("name", _(
            "%(name)s is also in row %(row)s; column %(column)s names every feature once: "
            "choose it as the name column", name=repr(name), row=first,
            column=repr(unique[0])), row=row)
    return ValidationError("name", _(
        "%(name)s is also in row %(row)s; no column names every feature once: make the names "
        "unique in the file", name=repr(name), row=first), row=row)


def preview_import(
    token: str, user: User, *, assume_crs: str | None = None, name_column: str | None = None,
    layer: str | None = None,
) -> ImportPreview:
    """What applying the upload would do; nothing is written.

    A file with several polygon layers is never read silently as its first: the preview
    lists the layers and says which one it shows (``layer`` picks another, or all).
    """
    if not svc.can_edit(user):
        raise NotFoundError(_("No such upload."))
    path, meta = load_upload(token, user)
    layers = _layers(path, meta["filename"])
    names = [n for n, _ in layers]
    if layer and layer != terr.ALL_LAYERS and layer not in names:
        raise ValidationError("layer", _(
            "%(filename)s has no polygon layer %(layer)s (it has %(values)s)",
            filename=meta['filename'], layer=repr(layer), values=', '.join(names)))
    chosen = layer or (names[0] if len(names) > 1 else None)
    _check_size(layers, chosen, meta["filename"])
    # All layers: the first one's columns (plus which layer), like the file's own order.
    fields = _fields(path, meta["filename"],
                     names[0] if chosen == terr.ALL_LAYERS and names else chosen)
    if chosen == terr.ALL_LAYERS and len(names) > 1:
        fields["layer"] = "object"
    column = name_column or _guess_name_column(fields)
    if column and column not in fields:
        raise ValidationError("name_column", _(
            "the file has no column %(column)s", column=repr(column)))
    # Read with the name column, so repair notes name the feature, not its row number.
    result = read_file(path, assume_crs=assume_crs, label=meta["filename"], name_column=column,
                       layer=chosen)
    frame = result.frame.reset_index(drop=True)
    columns = list(fields)
    read_notes = [tn.note(n["code"], **{**n["params"], "filename": meta["filename"]})
             if tn.is_note(n) and "filename" in n["params"] else n  # the upload's name
             for n in tn.library_notes(result.notes)]
    preview = ImportPreview(token, meta["filename"], column, columns, notes=read_notes,
                            layers=layers, layer=chosen if len(names) > 1 else None)
    if len(names) > 1 and chosen != terr.ALL_LAYERS:
        counts = [tn.note("layer_count", name=n, num=c) for n, c in layers]
        preview.notes.insert(0, tn.note("layers_choice", filename=meta["filename"],
                                        num=len(names), counts=counts, layer=chosen))
    mine = {t.name: t for t in svc.visible_territories(user)}
    taken = set(db.session.scalars(select(Territory.name)))  # one query, not one a feature
    seen: dict[str, int] = {}
    for pos, geom in enumerate(frame.geometry):
        row = pos + 1
        raw = frame[column].iloc[pos] if column else None
        name = "" if raw is None or (isinstance(raw, float) and pd.isna(raw)) else str(raw).strip()
        name = name or f"Territory {row}"
        if len(name) > 120:
            raise ValidationError("name", _("at most 120 characters"), row=row)
        if name in seen:
            raise _repeated_name(name, row, seen[name],
                                 [c for c in _unique_columns(frame, columns) if c != column])
        seen[name] = row
        geom, notes = svc.check_polygon(geom, field_name="geometry", row=row)
        preview.notes += [tn.note("feature_note", name=name, note=n) for n in notes]
        existing = mine.get(name)
        if existing is None and name in taken:
            raise ValidationError(
                "name", _(
                    "a territory named %(name)s exists and is not yours to replace",
                    name=repr(name)), row=row
            )
        preview.features.append(ImportFeature(
            row, name, "replace" if existing else "create",
            existing.id if existing else None, geom, round(svc.area_m2(geom) / 1e6, 3), 0))
    polys = gpd.GeoDataFrame(
        {"name": [f.name for f in preview.features]},
        geometry=[f.geometry for f in preview.features], crs="EPSG:4326")
    accounts = _accounts_in(user, shapely.union_all(polys.geometry.values))
    if len(accounts):
        where = terr.assign(accounts, polys)
        counts = where.dropna().astype(int).value_counts()
        for i, f in enumerate(preview.features):
            f.accounts = int(counts.get(i, 0))
    for o in terr.overlaps(polys, accounts if len(accounts) else None).itertuples():
        preview.overlaps.append({"a": polys.loc[o.a, "name"], "b": polys.loc[o.b, "name"],
                                 "area_m2": round(o.area_m2, 1), "accounts": int(o.accounts)})
    _outside_after(preview, polys, user)
    return preview


def _outside_after(preview: ImportPreview, polys: gpd.GeoDataFrame, user: User) -> None:
    """The user's located accounts that no territory holds once the file is applied.

    Territories stay as they are except those the file reshapes; an account outside all
    of them (and the file's new ones) is listed, so gaps are seen before they are made.
    """
    replaced = {f.territory_id for f in preview.features if f.territory_id is not None}
    kept = [t for t in db.session.scalars(select(Territory)) if t.id not in replaced]
    final = gpd.GeoDataFrame(
        {"priority": [0] * len(polys) + [t.priority or 0 for t in kept]},
        geometry=list(polys.geometry) + [t.geom for t in kept], crs="EPSG:4326")
    accounts = svc.accounts_frame(scope_accounts(select(Account), user))
    if not len(accounts):
        return
    where = terr.assign(accounts, final)
    ids = [int(i) for i in where[where.isna()].index]
    preview.outside_count = len(ids)
    if ids:
        sample = sorted(ids)[:100]
        preview.outside = [(int(i), str(n)) for i, n in db.session.execute(
            select(Account.id, Account.name).where(Account.id.in_(sample)).order_by(Account.id))]


def accounts_outside(user: User, limit: int = 200) -> tuple[int, list[tuple[int, str]]]:
    """Located, live accounts (scoped) in no territory: the count and the first ``limit``."""
    points = svc.unassigned_points(user, limit=1_000_000)
    pairs = list(zip(points["id"], points["name"], strict=True))
    return points["count"], pairs[:limit]


def _accounts_in(user: User, area: shapely.Geometry) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = area.bounds
    stmt = scope_accounts(select(Account), user).where(
        Account.lat.between(miny, maxy), Account.lon.between(minx, maxx))
    return svc.accounts_frame(stmt)


def apply_import(
    token: str, user: User, *, assume_crs: str | None = None, name_column: str | None = None,
    layer: str | None = None,
) -> TerritoryRevision:
    """Create or reshape the previewed territories and re-assign, in one transaction.

    Flushes; the view or the background job's runner commits (a job commits its writes
    together with its status).
    """
    preview = preview_import(token, user, assume_crs=assume_crs, name_column=name_column,
                             layer=layer)
    change = svc.Change("import", user, notes=list(preview.notes)[:200])
    base = db.session.scalar(select(func.count(Territory.id))) or 0
    for i, f in enumerate(preview.features):
        if f.territory_id is not None:
            t = change.touch(svc.get_editable_or_404(f.territory_id, user))
            t.set_geometry(f.geometry)
        else:
            change.create(name=f.name, color=safe_colour(None, base + i), priority=0,
                          manager_id=svc.manager_for(user, None), geom=f.geometry)
    for o in preview.overlaps:
        change.notes.append(tn.note("import_overlap", a=o["a"], b=o["b"],
                                    area=f"{o['area_m2']:.0f}"))
    created = sum(f.action == "create" for f in preview.features)
    revision = change.record(tn.note("imported", filename=preview.filename, created=created,
                                     reshaped=len(preview.features) - created))
    discard_upload(token)
    return revision


# --- export ------------------------------------------------------------------------------

EXPORTS = {"geojson": ("GeoJSON", ".geojson", "application/geo+json"),
           "gpkg": ("GPKG", ".gpkg", "application/geopackage+sqlite3")}


def export_territories(user: User, fmt: str) -> tuple[bytes, str, str]:
    """The user's visible territories as a file: (content, filename, mimetype)."""
    if fmt not in EXPORTS:
        raise NotFoundError(_("No such export format."))
    items = svc.visible_territories(user)
    if not items:
        raise ValidationError("territories", _("no territories to export"))
    _driver, suffix, mimetype = EXPORTS[fmt]
    counts = dict(db.session.execute(
        select(Account.territory_id, func.count(Account.id))
        .where(Account.territory_id.in_([t.id for t in items]))
        .group_by(Account.territory_id)).all())
    frame = gpd.GeoDataFrame(
        {
            "territory_id": [t.id for t in items],
            "name": [t.name for t in items],
            "color": [t.color for t in items],
            "priority": [t.priority for t in items],
            "manager": [t.manager.email if t.manager else "" for t in items],
            "reps": [";".join(u.email for u in sorted(t.reps, key=lambda u: u.id))
                     for t in items],
            "accounts": [int(counts.get(t.id, 0)) for t in items],
        },
        geometry=[t.geom for t in items], crs="EPSG:4326",
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"territories{suffix}"
        terr.write_territories(frame, path)
        return path.read_bytes(), path.name, mimetype
