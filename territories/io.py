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
import shapely
from shapely.geometry.base import BaseGeometry

from territories.errors import CRSError, GeometryError

WGS84 = "EPSG:4326"


@dataclass
class ReadResult:
    """The territories read, and one note per feature that was repaired or dropped."""

    frame: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


def _looks_like_degrees(bounds: Any) -> bool:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


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
    notes: list[str] = []
    keep = []
    geoms = []
    for pos, (label, geom) in enumerate(zip(frame.index, frame.geometry, strict=True)):
        name = frame[name_column].iloc[pos] if name_column and name_column in frame else label
        what = f"feature {name!r}"
        if geom is None or geom.is_empty:
            notes.append(f"{what}: empty geometry, dropped")
            continue
        fixed = geom
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            fixed = shapely.make_valid(geom)
            notes.append(f"{what}: invalid ({reason}), repaired")
        poly = polygonal(fixed)
        if poly is None:
            notes.append(f"{what}: no area ({geom.geom_type}), dropped")
            continue
        n_before = len(getattr(fixed, "geoms", [fixed]))
        n_after = len(getattr(poly, "geoms", [poly]))
        if n_after < n_before and fixed.geom_type != "GeometryCollection":
            notes.append(f"{what}: {n_before - n_after} empty or zero-area part(s) dropped")
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
    assume_crs
        For files without a CRS only: the CRS to assume. It is refused when the
        coordinates cannot be in it (e.g. feet read as degrees).
    """
    path = Path(path)
    if not path.exists():
        raise GeometryError(f"{path}: no such file")
    kwargs: dict[str, Any] = {"engine": "pyogrio"}
    if layer is not None:
        kwargs["layer"] = layer
    try:
        frame = gpd.read_file(path, **kwargs)
    except Exception as exc:  # pyogrio raises several types; all mean "cannot read"
        raise GeometryError(f"{path.name}: cannot read ({exc})") from exc
    if frame.empty:
        raise GeometryError(f"{path.name}: no features")
    bounds = frame.total_bounds
    if frame.crs is None:
        if assume_crs is None:
            hint = ("coordinates look like degrees: pass assume_crs='EPSG:4326' if so"
                    if _looks_like_degrees(bounds) else
                    f"coordinates such as {bounds[0]:.0f}, {bounds[1]:.0f} are not degrees: the "
                    "file is projected; supply its .prj or its EPSG code")
            raise CRSError(f"{path.name} has no CRS; {hint}")
        frame = frame.set_crs(assume_crs)
    if frame.crs.is_geographic and not _looks_like_degrees(bounds):
        raise CRSError(
            f"{path.name}: CRS {frame.crs.to_string()} is in degrees but coordinates reach "
            f"{bounds[0]:.0f}, {bounds[1]:.0f}; the CRS is wrong (projected data?)"
        )
    result = repair(frame, name_column)
    result.frame = result.frame.to_crs(WGS84)
    if result.frame.empty:
        raise GeometryError(f"{path.name}: no usable polygon after repair")
    return result


def write_territories(frame: gpd.GeoDataFrame, path: str | Path) -> None:
    """Write GeoJSON or GeoPackage, chosen by the file's extension."""
    path = Path(path)
    drivers = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
    driver = drivers.get(path.suffix.lower())
    if driver is None:
        raise GeometryError(f"{path.name}: write .geojson or .gpkg")
    frame.to_file(path, driver=driver, engine="pyogrio")
