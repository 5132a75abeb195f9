"""One setting picks the geocoder: the region's own address index, or a company's engine.

``GEOCRM_GEOCODER``:

* empty (default) or ``region``: the address index ``region load`` built from the company's
  extract (``instance/region/addresses.npz``), answered in this process, no network;
* ``nominatim``, ``photon`` or ``pelias``: a self-hosted server at ``GEOCRM_GEOCODER_URL``,
  with ``GEOCRM_GEOCODER_RATE`` requests a second (Nominatim's default is 1),
  ``GEOCRM_GEOCODER_TIMEOUT`` seconds per request (10), ``GEOCRM_GEOCODER_LANGUAGE`` and, for
  Pelias, ``GEOCRM_GEOCODER_API_KEY``. Answers are cached in memory and in
  ``instance/geocode-cache.sqlite`` (``GEOCRM_GEOCODER_CACHE``; ``off`` disables it), so a
  re-run of an import asks the server nothing twice.

Each process keeps one client per configuration (the rate limit is per process) and one region
geocoder per saved index file (a newer region is picked up without a restart).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from flask import current_app

from geocrm.errors import ValidationError
from geocrm.region.services import region_dir
from places.geocode import Geocoder
from places.geocode.engines import ENGINES, HttpGeocoder, SqliteCache, make_engine

try:  # the region's own index (places.geocode.region), built by `region load`
    from places.geocode.index import load_addresses
    from places.geocode.region import RegionGeocoder
except ImportError:  # pragma: no cover - an older places without the region index
    load_addresses = None  # type: ignore[assignment]
    RegionGeocoder = None  # type: ignore[assignment,misc]

CHOICES = ("region", *ENGINES)
_lock = threading.Lock()
_engines: dict[tuple[Any, ...], HttpGeocoder] = {}
_regions: dict[tuple[str, int, int], Geocoder] = {}


def setting(name: str, default: str = "") -> str:
    """A geocoder setting from the app config, else the environment."""
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name, default)
    return str(value).strip()


def addresses_path() -> Path:
    """Where ``region load`` keeps the region's address index."""
    return region_dir() / "addresses.npz"


def engine_name() -> str:
    """The configured engine (``region`` when unset); a ValidationError for anything else."""
    name = setting("GEOCRM_GEOCODER").lower() or "region"
    if name not in CHOICES:
        raise ValidationError("GEOCRM_GEOCODER", f"must be one of {', '.join(CHOICES)} "
                                                 f"(got {name!r})")
    return name


def current_geocoder() -> Geocoder | None:
    """The geocoder the settings choose, or None when none is available (no region loaded
    and no engine configured). A misconfigured engine raises a ValidationError naming the
    setting, so an administrator sees what to fix instead of silently pinless accounts."""
    name = engine_name()
    if name == "region":
        return _region_geocoder()
    url = setting("GEOCRM_GEOCODER_URL")
    if not url:
        raise ValidationError("GEOCRM_GEOCODER_URL",
                              f"is required with GEOCRM_GEOCODER={name} (the server's base URL)")
    rate = setting("GEOCRM_GEOCODER_RATE")
    timeout = setting("GEOCRM_GEOCODER_TIMEOUT", "10")
    cache_path = setting("GEOCRM_GEOCODER_CACHE") or str(
        Path(current_app.instance_path) / "geocode-cache.sqlite")
    language = setting("GEOCRM_GEOCODER_LANGUAGE") or None
    key = (name, url, rate, timeout, cache_path, language)
    with _lock:
        client = _engines.get(key)
        if client is None:
            try:
                options: dict[str, Any] = {"timeout": float(timeout), "language": language}
                if rate:
                    options["rate"] = float(rate)
                if cache_path.lower() != "off":
                    options["cache"] = SqliteCache(cache_path)
                if name == "pelias" and setting("GEOCRM_GEOCODER_API_KEY"):
                    options["api_key"] = setting("GEOCRM_GEOCODER_API_KEY")
                client = make_engine(name, url, **options)
            except ValueError as exc:
                raise ValidationError("GEOCRM_GEOCODER", str(exc)) from exc
            _engines[key] = client
    return client


def _region_geocoder() -> Geocoder | None:
    if RegionGeocoder is None or load_addresses is None:
        return None
    path = addresses_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _lock:
        geocoder = _regions.get(key)
        if geocoder is None:
            geocoder = RegionGeocoder(load_addresses(path))
            _regions.clear()  # one region at a time: drop the old one's memory
            _regions[key] = geocoder
    return geocoder
