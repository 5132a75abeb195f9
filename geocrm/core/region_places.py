"""Where the region's places index lives and this process's copy of it.

``region load`` writes ``instance/region/places.npz`` (:func:`places.poi.save_pois`, replaced
atomically); every process reads it once per saved file (keyed by size and modification
time), so a newer region is picked up without a restart.
"""

from __future__ import annotations

import threading
from pathlib import Path

from flask import current_app

from places.poi import PoiIndex, load_pois

_held: dict[str, tuple[tuple[int, int], PoiIndex]] = {}
_lock = threading.Lock()


def pois_path() -> Path:
    """The region's places (named businesses and organisations, :mod:`places.poi`)."""
    return Path(current_app.instance_path) / "region" / "places.npz"


def place_index() -> PoiIndex | None:
    """This process's places index of the loaded region (read again when a newer region is
    saved), or None when none is loaded."""
    path = pois_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (stat.st_size, stat.st_mtime_ns)
    with _lock:
        held = _held.get(str(path))
        if held is None or held[0] != key:
            held = _held[str(path)] = (key, load_pois(path))
        return held[1]
