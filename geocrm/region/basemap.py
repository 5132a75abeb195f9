"""Which basemap the maps draw, and the files the app serves for it.

One rule for every map (:func:`basemap_file`): ``GEOCRM_BASEMAP=raster`` keeps the raster tile
URL; otherwise a PMTiles archive wins when there is one — the company's own
(``GEOCRM_BASEMAP_FILE``, e.g. cut from a Protomaps build) or the one ``region load`` built
(``instance/region/basemap.pmtiles``) — and the raster URL is the fallback.

The archive is read by the browser with HTTP range requests, so serving it is
``send_file`` with ranges, ETags and a URL that carries the file's version
(:func:`basemap_version`): a newer region gives a new URL, so a long browser cache is safe.

The field app keeps a bounded part of it offline (:func:`offline_basemap`): the tiles over the
rep's territories, every zoom that fits in ``GEOCRM_BASEMAP_OFFLINE_MB`` and then whole zoom
levels of the rest of the region while the budget lasts; an archive already within the budget
is kept whole. The parts are cut once per (archive version, territories, budget) and kept in
``instance/region/offline/``.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from pmtiles.reader import MmapSource, Reader
from sqlalchemy import select

import places
from geocrm.access import scope_territories, visible_accounts
from geocrm.extensions import db
from geocrm.models import Account, Territory, User
from geocrm.region.services import basemap_path, region_dir

OFFLINE_KEEP = 64  # cut parts kept on disk (one per rep's set of territories, newest first)
_lock = threading.Lock()
_headers: dict[tuple[str, str], dict[str, Any]] = {}

Box = tuple[float, float, float, float]


def basemap_file() -> Path | None:
    """The PMTiles archive every map draws, or None when maps use the raster tile URL."""
    if current_app.config.get("GEOCRM_BASEMAP", "auto") == "raster":
        return None
    configured = current_app.config.get("GEOCRM_BASEMAP_FILE") or ""
    path = Path(configured) if configured else basemap_path()
    return path if path.is_file() else None


def basemap_version(path: Path) -> str:
    """Changes whenever the file is replaced (size and modification time)."""
    stat = path.stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


def offline_boxes(user: User) -> list[Box]:
    """(west, south, east, north) of each territory ``user`` works; without any, the box of
    the accounts they may see; empty when they see none."""
    rows = db.session.execute(scope_territories(
        select(Territory.min_lon, Territory.min_lat, Territory.max_lon, Territory.max_lat),
        user).order_by(Territory.id)).all()
    boxes = [(float(a), float(b), float(c), float(d)) for a, b, c, d in rows]
    if boxes:
        return boxes
    accounts = visible_accounts(user).where(Account.lat.is_not(None)).subquery()
    row = db.session.execute(select(db.func.min(accounts.c.lon), db.func.min(accounts.c.lat),
                                    db.func.max(accounts.c.lon),
                                    db.func.max(accounts.c.lat))).one()
    return [] if row[0] is None else [(float(row[0]), float(row[1]), float(row[2]),
                                       float(row[3]))]


def offline_budget() -> int:
    """Bytes the field app may keep of the basemap."""
    return int(float(current_app.config.get("GEOCRM_BASEMAP_OFFLINE_MB", 25)) * 1_000_000)


def offline_basemap(user: User) -> tuple[Path, dict[str, Any]] | None:
    """The archive the field app keeps offline for ``user`` and what it covers, or None
    without a basemap. The whole archive when it fits the budget; else the cut part."""
    source = basemap_file()
    if source is None:
        return None
    budget = offline_budget()
    if source.stat().st_size <= budget:
        return source, {"whole": True, "bytes": source.stat().st_size}
    boxes = offline_boxes(user)
    key = hashlib.sha256(json.dumps([str(source), basemap_version(source), boxes, budget])
                         .encode()).hexdigest()[:20]
    folder = region_dir() / "offline"
    target = folder / f"{key}.pmtiles"
    info = folder / f"{key}.json"
    with _lock:
        if not target.is_file() or not info.is_file():
            covered = places.offline_subset(source, target, boxes or [_archive_box(source)],
                                            budget)
            info.write_text(json.dumps(covered))
            _prune(folder)
    return target, {"whole": False, **json.loads(info.read_text())}


def basemap_status() -> dict[str, Any] | None:
    """What every map draws, for the admin's region page: the archive (the region's own or
    the company's file), when it was written, its size, zoom range and the area it covers
    (box and its width and height in metres); None when maps use raster tiles."""
    path = basemap_file()
    if path is None:
        return None
    header, stat = _header(path), path.stat()
    west, south, east, north = _archive_box(path)
    mid = math.radians((south + north) / 2)
    return {
        "file": path.name, "own": path == basemap_path(), "bytes": stat.st_size,
        "built_at": datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
        "min_zoom": int(header["min_zoom"]), "max_zoom": int(header["max_zoom"]),
        "bbox": [round(v, 4) for v in (west, south, east, north)],
        "width_m": (east - west) * 111_320 * math.cos(mid), "height_m": (north - south) * 110_574,
    }


def _header(path: Path) -> dict[str, Any]:
    key = (str(path), basemap_version(path))
    if key not in _headers:
        with open(path, "rb") as f:
            _headers[key] = dict(Reader(MmapSource(f)).header())
    return _headers[key]


def archive_max_zoom(path: Path) -> int:
    """The archive's last zoom (maps overzoom it)."""
    return int(_header(path)["max_zoom"])


def _archive_box(path: Path) -> Box:
    h = _header(path)
    return (h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7,
            h["max_lat_e7"] / 1e7)


def _prune(folder: Path) -> None:
    parts = sorted(folder.glob("*.pmtiles"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in parts[OFFLINE_KEEP:]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
