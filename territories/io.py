"""Reading territory files and repairing what real files contain.

Every reader ends in EPSG:4326 with valid polygonal geometry, and says what it changed:
a missing or implausible CRS is refused (a file in projected feet must never be read as
degrees), invalid polygons are repaired with ``make_valid`` and reported, empty and
zero-area parts are dropped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from territories import notes as repair_notes
from territories.errors import CRSError, GeometryError
from territories.geodesy import looks_like_degrees

WGS84 = "EPSG:4326"
#: ``layer=ALL_LAYERS`` reads every polygon layer of a multi-layer file as one set.
ALL_LAYERS = "*"
# Formats whose CRS is fixed by their specification rather than declared by the file.
_IMPLIED_WGS84 = (".geojson", ".json", ".kml")


@dataclass
class ReadResult:
    """The territories read, and one note per feature that was repaired or dropped.

    The notes are :class:`territories.notes.Note`: English sentences with a code and
    parameters, so an app can show them in its reader's language.

    ``layers`` lists the file's polygon layers (name, feature count) and ``layer`` says
    which was read (``ALL_LAYERS`` for all of them; a ``layer`` column then names each
    feature's), so a caller can offer the choice instead of silently taking the first.
    """

    frame: gpd.GeoDataFrame
    notes: list[repair_notes.Note] = field(default_factory=list)
    layers: list[tuple[str, int]] = field(default_factory=list)
    layer: str | None = None


def polygon_layers(path: str | Path) -> list[tuple[str, int]]:
    """(name, feature count) of each layer that may hold polygons, in the file's order.

    Point and line layers, and tables without geometry, are left out; a single-layer
    format gives one entry.
    """
    import pyogrio

    path = Path(path)
    try:
        listed = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several types; all mean "cannot read"
        raise GeometryError(f"{path.name}: cannot read ({exc})") from exc
    out = []
    for name, geom_type in listed:
        kind = str(geom_type or "")
        if not kind or ("Point" in kind or "LineString" in kind) and "Polygon" not in kind:
            continue
        try:
            count = int(pyogrio.read_info(path, layer=str(name))["features"])
        except Exception:  # an unreadable layer: listed, the read will explain
            count = -1
        out.append((str(name), count))
    return out


def polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """The polygonal part of a geometry (make_valid can return collections), or None."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        parts = list(getattr(geom, "geoms", [geom]))
    elif geom.geom_type == "GeometryCollection":
        parts = []
        for g in geom.geoms:
            part = polygonal(g)
            if part is not None:
                parts.extend(getattr(part, "geoms", [part]))
    else:
        return None
    parts = [p for p in parts if not p.is_empty and p.area > 0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def repair(frame: gpd.GeoDataFrame, name_column: str | None = None) -> ReadResult:
    """Make every geometry valid and polygonal; drop what has no area left. Notes name rows."""
    notes: list[repair_notes.Note] = []
    keep = []
    geoms = []
    for pos, (label, geom) in enumerate(zip(frame.index, frame.geometry, strict=True)):
        name = frame[name_column].iloc[pos] if name_column and name_column in frame else label
        what = str(name)
        if geom is None or geom.is_empty:
            notes.append(repair_notes.empty_dropped(what))
            continue
        fixed = geom
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            fixed = shapely.make_valid(geom)
            notes.append(repair_notes.invalid_repaired(what, reason))
        poly = polygonal(fixed)
        if poly is None:
            notes.append(repair_notes.no_area_dropped(what, geom.geom_type))
            continue
        n_before = len(getattr(fixed, "geoms", [fixed]))
        n_after = len(getattr(poly, "geoms", [poly]))
        if n_after < n_before and fixed.geom_type != "GeometryCollection":
            notes.append(repair_notes.parts_dropped(what, n_before - n_after))
        keep.append(pos)
        geoms.append(poly)
    out = frame.iloc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=frame.crs))
    return ReadResult(out, notes)


def read_territories(
    path: str | Path,
    *,
    layer: str | None = None,
    assume_crs: str | None = None,
    name_column: str | None = None,
) -> ReadResult:
    """Read GeoJSON, a (zipped) Shapefile, GeoPackage or KML into EPSG:4326, repaired.

    Parameters
    ----------
    layer
        The layer of a multi-layer file (GeoPackage) to read, or :data:`ALL_LAYERS`.
        Without it the first polygon layer is read and ``result.layers`` lists them all.
    assume_crs
        The CRS the coordinates are in, for every format: it fills in a missing CRS and
        overrides a declared (or, for GeoJSON and KML, implied) one, with a note. It is
        refused when the coordinates cannot be in it (e.g. feet read as degrees).
    """
    path = Path(path)
    if not path.exists():
        raise GeometryError(f"{path}: no such file", "no_such_file", file=path.name)
    layers = polygon_layers(path)
    names = [n for n, _ in layers]
    if layer is not None and layer != ALL_LAYERS and layer not in names:
        raise GeometryError(f"{path.name} has no polygon layer {layer!r} "
                            f"(it has {', '.join(names) or 'none'})")
    if layer is None and len(names) > 1:
        layer = names[0]
    notes: list[repair_notes.Note] = []
    if layer == ALL_LAYERS and len(names) > 1:
        frames = [_read(path, n, assume_crs).assign(layer=n) for n in names]
        if len({f.crs.to_string() if f.crs else None for f in frames}) > 1:
            for n, f in zip(names, frames, strict=True):
                if f.crs is None:
                    raise CRSError(f"{path.name}: layer {n!r} has no CRS; supply its EPSG code",
                                   "layer_no_crs", file=path.name, layer=n)
            frames = [f.to_crs(WGS84) for f in frames]
        frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        notes.append(repair_notes.all_layers(names))
    else:
        frame = _read(path, None if layer in (None, ALL_LAYERS) else layer, assume_crs)
    if frame.empty:
        raise GeometryError(f"{path.name}: no features", "no_features", file=path.name)
    declared = frame.attrs.get("declared_crs")
    if declared and path.suffix.lower() not in _IMPLIED_WGS84:
        notes.append(repair_notes.crs_overridden(path.name, str(declared), assume_crs))
    result = _check_and_repair(frame, path, name_column)
    result.notes[:0] = notes
    result.layers = layers
    result.layer = layer if layer is not None else (names[0] if names else None)
    return result


def _read(path: Path, layer: str | None, assume_crs: str | None) -> gpd.GeoDataFrame:
    """One layer, with the user's CRS applied over what the file declares (or implies).

    GeoJSON and KML never declare a CRS (the specification says WGS84), so a stated CRS is
    the only way to read an old projected GeoJSON export; for any format, the person who
    states the CRS wins over the file.
    """
    kwargs: dict[str, Any] = {"engine": "pyogrio"}
    if layer is not None:
        kwargs["layer"] = layer
    try:
        frame = gpd.read_file(path, **kwargs)
    except Exception as exc:  # pyogrio raises several types; all mean "cannot read"
        raise GeometryError(f"{path.name}: cannot read ({exc})") from exc
    if assume_crs is not None:
        declared = frame.crs
        frame = frame.set_crs(assume_crs, allow_override=True)
        if declared is not None and declared != frame.crs:
            frame.attrs["declared_crs"] = declared.to_string()
    return frame


def _check_and_repair(frame: gpd.GeoDataFrame, path: Path,
                      name_column: str | None) -> ReadResult:
    """Refuse a missing or implausible CRS, repair, and end in EPSG:4326."""
    bounds = frame.total_bounds
    if frame.crs is None:
        if looks_like_degrees(bounds):
            raise CRSError(f"{path.name} has no CRS; coordinates look like degrees: pass "
                           "assume_crs='EPSG:4326' if so", "no_crs_degrees", file=path.name)
        x, y = f"{bounds[0]:.0f}", f"{bounds[1]:.0f}"
        raise CRSError(f"{path.name} has no CRS; coordinates such as {x}, {y} are not degrees: "
                       "the file is projected; supply its .prj or its EPSG code",
                       "no_crs_projected", file=path.name, x=x, y=y)
    if frame.crs.is_geographic and not looks_like_degrees(bounds):
        crs, x, y = frame.crs.to_string(), f"{bounds[0]:.0f}", f"{bounds[1]:.0f}"
        raise CRSError(
            f"{path.name}: CRS {crs} is in degrees but coordinates reach {x}, {y}; the CRS is "
            "wrong (projected data?)", "crs_not_degrees", file=path.name, crs=crs, x=x, y=y)
    result = repair(frame, name_column)
    result.frame = result.frame.to_crs(WGS84)
    if result.frame.empty:
        raise GeometryError(f"{path.name}: no usable polygon after repair", "nothing_usable",
                            file=path.name)
    return result


def write_territories(frame: gpd.GeoDataFrame, path: str | Path) -> None:
    """Write GeoJSON or GeoPackage, chosen by the file's extension."""
    path = Path(path)
    drivers = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
    driver = drivers.get(path.suffix.lower())
    if driver is None:
        raise GeometryError(f"{path.name}: write .geojson or .gpkg")
    frame.to_file(path, driver=driver, engine="pyogrio")
