"""One setting picks the geocoder: the region's own address index, or a company's engine.

``GEOCRM_GEOCODER``:

* empty (default) or ``region``: the address index built from the company's extract
  (``instance/region/addresses.npz``, by ``flask geocode index`` or the demo), answered in this
  process, no network;
* ``off``: no geocoding (accounts are still marked pending on address changes);
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

import functools
import os
import threading
from pathlib import Path
from typing import Any

from flask import current_app

from geocrm.core.geocoding import addresses_path
from geocrm.errors import ValidationError
from places.geocode import (
    AddressIndex,
    Geocoder,
    RegionGeocoder,
    load_addresses,
    read_addresses,
    save_addresses,
)
from places.geocode.engines import ENGINES, HttpGeocoder, SqliteCache, make_engine

CHOICES = ("region", "off", *ENGINES)
_lock = threading.Lock()
_engines: dict[tuple[Any, ...], HttpGeocoder] = {}
_regions: dict[tuple[str, int, int], Geocoder] = {}


def setting(name: str, default: str = "") -> str:
    """A geocoder setting from the app config, else the environment."""
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name, default)
    return str(value).strip()


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
    if name == "off":
        return None
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


def build_address_index(extract: str | Path, *, name: str | None = None,
                        country: str | None = None) -> AddressIndex:
    """Read the extract's addresses and make them the region's index (replaced atomically:
    a geocoder running meanwhile answers from the old index or the new one, never a mix).
    Raises :class:`places.RegionError` naming the file when it cannot be read."""
    index = read_addresses(extract, name=name)
    if country:
        index.meta["country"] = country.upper()
    save_addresses(index, addresses_path())
    return index


@functools.lru_cache(maxsize=2)
def extract_geocoder(extract: str, country: str | None = None) -> Geocoder:
    """A geocoder over one extract's addresses, in memory only (the demo's bundled Helsinki:
    its accounts get their addresses from it whichever region the company loaded)."""
    return RegionGeocoder(read_addresses(extract), country=country)


def region_geocoder() -> Geocoder | None:
    """The region's own geocoder whatever ``GEOCRM_GEOCODER`` says (None without an index):
    the demo and the tests use it by name."""
    return _region_geocoder()


def _region_geocoder() -> Geocoder | None:
    path = addresses_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _lock:
        geocoder = _regions.get(key)
        if geocoder is None:
            index = load_addresses(path)
            geocoder = RegionGeocoder(index, country=index.meta.get("country"))
            _regions.clear()  # one region at a time: drop the old one's memory
            _regions[key] = geocoder
    return geocoder
