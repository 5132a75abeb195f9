"""Self-hosted geocoding engines behind the one :class:`~places.geocode.types.Geocoder` contract.

A company that outgrows the region's own index (one machine, one extract) runs Nominatim, Photon
or Pelias itself; these clients speak to such a server and answer the same
:class:`~places.geocode.types.GeocodeResult` with a *named* confidence, read from what each
engine documents about a result (never from its score, which means nothing next to another
engine's):

* **Nominatim** (``/search`` structured or free-form, ``/reverse``; ``format=jsonv2``,
  ``addressdetails=1``): ``place_rank``, ``category``/``type``, ``addresstype`` and whether the
  matched ``address`` carries the house number asked for. Interpolated house numbers come back
  as ``osm_type=way``, ``category=place``, ``type=house`` (the interpolation line).
  https://nominatim.org/release-docs/latest/api/Search/ ,
  https://nominatim.org/release-docs/latest/api/Reverse/ ,
  https://nominatim.org/release-docs/latest/api/Output/ ,
  https://nominatim.org/release-docs/latest/customize/Ranking/
* **Photon** (``/api``, ``/reverse``; GeoJSON): ``properties.type`` (house, street, locality,
  district, city, ...), ``housenumber``, ``osm_key``/``osm_value``.
  https://github.com/komoot/photon#search-and-geocoding
* **Pelias** (``/v1/search``, ``/v1/search/structured``, ``/v1/reverse``; GeoJSON):
  ``properties.layer`` (address, venue, street, postalcode, locality...), ``match_type``
  (exact, interpolated, fallback) and ``accuracy`` (point, centroid).
  https://github.com/pelias/documentation/blob/master/search.md ,
  https://github.com/pelias/documentation/blob/master/structured-geocoding.md ,
  https://github.com/pelias/documentation/blob/master/reverse.md

Every client has a **cache** (keyed by the normalised query, bounded, optionally persistent in
one SQLite file so a re-run of a big import asks the server nothing twice) and a **rate limit**
(a token bucket; Nominatim defaults to one request a second, the public server's rule and a
sane default for a small self-hosted one). Server errors, timeouts and unreadable answers raise
:class:`EngineError`, which names the engine, the endpoint and the reason; "nothing found" is
``None``, never an error.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import requests

from places.geocode.types import AddressQuery, Confidence, GeocodeResult

__all__ = [
    "ENGINES", "EngineError", "GeocodeCache", "HttpGeocoder", "MemoryCache", "NominatimGeocoder",
    "PeliasGeocoder", "PhotonGeocoder", "SqliteCache", "TokenBucket", "make_engine",
    "query_key",
]

USER_AGENT = "GeoCRM geocoding client (self-hosted engine)"


class EngineError(RuntimeError):
    """A geocoding server could not answer: unreachable, too slow, an error, or nonsense.

    The message names the engine and the endpoint (never the query: it may hold a customer's
    address) so an administrator can tell a wrong URL from a server that is down.
    """

    def __init__(self, engine: str, endpoint: str, reason: str) -> None:
        super().__init__(f"{engine} geocoder at {endpoint}: {reason}")
        self.engine = engine
        self.endpoint = endpoint
        self.reason = reason


# -- the rate limit ---------------------------------------------------------------------------
class TokenBucket:
    """At most ``rate`` requests a second on average, bursts of up to ``burst``.

    Thread-safe: the web process and a job thread may share one client. ``acquire`` blocks
    until a token is free (sleeping outside the lock); ``clock``/``sleep`` are injectable so the
    tests can count waits without waiting.
    """

    def __init__(self, rate: float, burst: int = 1, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not rate > 0:
            raise ValueError("rate limit: rate must be a positive number of requests a second")
        if burst < 1:
            raise ValueError("rate limit: burst must be at least 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting (for logs and tests)

    def acquire(self) -> None:
        """Take one token, waiting as long as needed."""
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
            self.waited += wait
            self._sleep(wait)


# -- the cache --------------------------------------------------------------------------------
_SPACES = re.compile(r"\s+")


def _norm(value: str | None) -> str:
    text = unicodedata.normalize("NFKC", value or "").casefold()
    return _SPACES.sub(" ", text.replace(",", " ")).strip()


def query_key(query: AddressQuery) -> str:
    """One key per address however it was spelled: NFKC, case-folded, spaces and commas
    collapsed, field by field (so "Mannerheimintie 1" and "MANNERHEIMINTIE  1," share it)."""
    fields = (query.text, query.country, query.postcode, query.region, query.city,
              query.district, query.street, query.housenumber)
    return "fwd|" + "|".join(_norm(f) for f in fields)


def _reverse_key(lon: float, lat: float) -> str:
    # ~1 m: two reverse look-ups a step apart are the same question.
    return f"rev|{lon:.5f}|{lat:.5f}"


class GeocodeCache(Protocol):
    """Where answers are kept: ``get`` answers ``(found, result)`` so a remembered "nothing
    found" (``(True, None)``) is told apart from a miss."""

    def get(self, key: str) -> tuple[bool, GeocodeResult | None]: ...

    def put(self, key: str, value: GeocodeResult | None) -> None: ...


class MemoryCache:
    """A bounded least-recently-used cache in memory (thread-safe)."""

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("cache: maxsize must be at least 1")
        self.maxsize = maxsize
        self._data: OrderedDict[str, GeocodeResult | None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bool, GeocodeResult | None]:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return True, self._data[key]
            self.misses += 1
            return False, None

    def put(self, key: str, value: GeocodeResult | None) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def _dump(result: GeocodeResult | None) -> str:
    if result is None:
        return "null"
    data = asdict(result)
    data["confidence"] = result.confidence.value
    return json.dumps(data, ensure_ascii=False)


def _load(text: str) -> GeocodeResult | None:
    data = json.loads(text)
    if data is None:
        return None
    data["confidence"] = Confidence(data["confidence"])
    return GeocodeResult(**data)


class SqliteCache:
    """A persistent cache in one SQLite file: answers survive restarts, so re-running a big
    import asks the server nothing it was already asked. Bounded by ``maxsize`` rows (the
    oldest go first) and ``ttl_days`` (OSM data changes; a year-old answer is asked again).
    One connection per thread; SQLite serialises the writers.
    """

    def __init__(self, path: str | Path, *, maxsize: int = 1_000_000,
                 ttl_days: float = 180.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.maxsize = maxsize
        self.ttl_s = ttl_days * 86400.0
        self._local = threading.local()
        self._puts = 0
        with self._conn() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS geocode_cache (key TEXT PRIMARY KEY, "
                         "value TEXT NOT NULL, at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS ix_geocode_cache_at ON geocode_cache (at)")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> tuple[bool, GeocodeResult | None]:
        row = self._conn().execute(
            "SELECT value, at FROM geocode_cache WHERE key = ?", (key,)).fetchone()
        if row is None or time.time() - float(row[1]) > self.ttl_s:
            return False, None
        return True, _load(str(row[0]))

    def put(self, key: str, value: GeocodeResult | None) -> None:
        conn = self._conn()
        with conn:
            conn.execute("INSERT OR REPLACE INTO geocode_cache (key, value, at) VALUES (?, ?, ?)",
                         (key, _dump(value), time.time()))
            self._puts += 1
            if self._puts % 1000 == 0:
                conn.execute("DELETE FROM geocode_cache WHERE key IN (SELECT key FROM "
                             "geocode_cache ORDER BY at DESC LIMIT -1 OFFSET ?)", (self.maxsize,))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# -- the shared HTTP client -------------------------------------------------------------------
def _same_number(asked: str | None, found: str | None) -> bool:
    """Whether the engine's house number is the one asked for ("12 A" == "12a")."""
    def key(v: str | None) -> str:
        return re.sub(r"[\s\-/]", "", _norm(v))
    return bool(asked) and key(asked) == key(found)


class HttpGeocoder:
    """What the three engines share: the session, the timeout, the bucket, the cache."""

    name = "http"
    default_rate = 10.0

    def __init__(self, url: str, *, timeout: float = 10.0, rate: float | None = None,
                 burst: int = 1, cache: GeocodeCache | None = None, language: str | None = None,
                 session: requests.Session | None = None, user_agent: str = USER_AGENT,
                 bucket: TokenBucket | None = None) -> None:
        if not url or not re.match(r"^https?://", url):
            raise ValueError(f"{self.name} geocoder: the URL must start with http:// or https:// "
                             f"(got {url!r})")
        self.base_url = url.rstrip("/")
        self.timeout = float(timeout)
        self.bucket = bucket or TokenBucket(rate or self.default_rate, burst)
        self.cache: GeocodeCache = cache if cache is not None else MemoryCache()
        self.language = language
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", user_agent)
        self.requests_made = 0

    # -- the contract --
    def forward(self, query: AddressQuery) -> GeocodeResult | None:
        """The engine's best place for the address (cached), or None."""
        if query.is_empty():
            return None
        key = f"{self.name}|{query_key(query)}"
        found, cached = self.cache.get(key)
        if found:
            return cached
        result = self._forward(query)
        self.cache.put(key, result)
        return result

    def forward_many(self, queries: list[AddressQuery]) -> list[GeocodeResult | None]:
        """One by one (none of the engines has a batch endpoint), each through the cache, so
        a list with repeats asks the server once per distinct address."""
        return [self.forward(q) for q in queries]

    def reverse(self, lon: float, lat: float) -> GeocodeResult | None:
        """The nearest address the engine knows (cached per ~1 m), or None."""
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise ValueError(f"reverse geocode: lon/lat out of range ({lon}, {lat})")
        key = f"{self.name}|{_reverse_key(lon, lat)}"
        found, cached = self.cache.get(key)
        if found:
            return cached
        result = self._reverse(lon, lat)
        self.cache.put(key, result)
        return result

    # -- engine specifics --
    def _forward(self, query: AddressQuery) -> GeocodeResult | None:
        raise NotImplementedError

    def _reverse(self, lon: float, lat: float) -> GeocodeResult | None:
        raise NotImplementedError

    def _get(self, path: str, params: Mapping[str, Any]) -> Any:
        """GET ``path`` under the base URL and answer its JSON, or raise :class:`EngineError`."""
        endpoint = self.base_url + path
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        self.bucket.acquire()
        self.requests_made += 1
        try:
            response = self.session.get(endpoint, params=clean, timeout=self.timeout,
                                        headers={"Accept": "application/json"})
        except requests.Timeout as exc:
            raise EngineError(self.name, endpoint,
                              f"no answer within {self.timeout:g} s") from exc
        except requests.RequestException as exc:
            raise EngineError(self.name, endpoint,
                              f"cannot connect ({type(exc).__name__})") from exc
        if response.status_code == 429:
            raise EngineError(self.name, endpoint,
                              "the server refused: too many requests (lower the rate limit)")
        if response.status_code >= 400:
            raise EngineError(self.name, endpoint,
                              f"HTTP {response.status_code}: {response.text[:200].strip()}")
        try:
            return response.json()
        except ValueError as exc:
            raise EngineError(self.name, endpoint, "the answer is not JSON") from exc

    def _result(self, endpoint: str, lon: Any, lat: Any, confidence: Confidence, label: str,
                address: Mapping[str, Any]) -> GeocodeResult:
        try:
            return GeocodeResult(
                lon=float(lon), lat=float(lat), confidence=confidence, label=label or "",
                source=self.name,
                address={k: str(v) for k, v in address.items() if v not in (None, "")},
            )
        except (TypeError, ValueError) as exc:
            raise EngineError(self.name, self.base_url + endpoint,
                              f"a result without a usable position ({exc})") from exc


def _structured(query: AddressQuery) -> bool:
    """Structured fields when the street is known or there is no text to read; otherwise the
    text (a one-line address from a form or a file) with the other fields appended."""
    return bool(query.street) or not query.text


def _free_text(query: AddressQuery) -> str:
    """One line in address order: street and number, district, postcode and city, region."""
    street = " ".join(p for p in (query.street, query.housenumber) if p)
    parts = [street or query.text, query.district,
             " ".join(p for p in (query.postcode, query.city) if p), query.region]
    return ", ".join(p for p in parts if p)


def _features(engine: str, endpoint: str, data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise EngineError(engine, endpoint, "the answer is not a GeoJSON FeatureCollection")
    return [f for f in data["features"] if isinstance(f, dict)]


def _point(engine: str, endpoint: str, feature: Mapping[str, Any]) -> tuple[Any, Any]:
    geometry = feature.get("geometry") or {}
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if not isinstance(coords, list) or len(coords) < 2:
        raise EngineError(engine, endpoint, "a feature without point coordinates")
    return coords[0], coords[1]


# -- Nominatim --------------------------------------------------------------------------------
_LOCALITY_TYPES = {"city", "town", "village", "hamlet", "suburb", "quarter", "neighbourhood",
                   "borough", "city_district", "district", "isolated_dwelling", "locality",
                   "municipality", "croft", "allotments", "farm", "square", "city_block"}


class NominatimGeocoder(HttpGeocoder):
    """A self-hosted Nominatim (v4+): structured ``/search`` when the query has fields."""

    name = "nominatim"
    default_rate = 1.0

    def _forward(self, query: AddressQuery) -> GeocodeResult | None:
        params: dict[str, Any] = {"format": "jsonv2", "addressdetails": 1, "limit": 1,
                                  "accept-language": self.language,
                                  "countrycodes": (query.country or "").lower() or None}
        if _structured(query):
            # Structured: never mixed with q (the docs forbid it).
            street = " ".join(p for p in (query.housenumber, query.street) if p)
            params.update(street=street or None, city=query.city, county=query.district,
                          state=query.region, postalcode=query.postcode)
        else:
            params["q"] = _free_text(query)
        data = self._get("/search", params)
        if not isinstance(data, list):
            raise EngineError(self.name, self.base_url + "/search", "the answer is not a list")
        if not data:
            return None
        return self._read("/search", data[0], query.housenumber)

    def _reverse(self, lon: float, lat: float) -> GeocodeResult | None:
        data = self._get("/reverse", {"format": "jsonv2", "addressdetails": 1, "zoom": 18,
                                      "lat": f"{lat:.7f}", "lon": f"{lon:.7f}",
                                      "accept-language": self.language})
        if not isinstance(data, dict):
            raise EngineError(self.name, self.base_url + "/reverse", "the answer is not an object")
        if "error" in data:  # {"error": "Unable to geocode"}: nothing there
            return None
        return self._read("/reverse", data, None)

    def _read(self, endpoint: str, item: Mapping[str, Any],
              asked_number: str | None) -> GeocodeResult | None:
        address = item.get("address") if isinstance(item.get("address"), dict) else {}
        assert isinstance(address, dict)
        confidence = nominatim_confidence(item, asked_number)
        if confidence is None:
            return None
        fields = {
            "housenumber": address.get("house_number"),
            "street": address.get("road") or address.get("pedestrian") or address.get("footway"),
            "postcode": address.get("postcode"),
            "city": address.get("city") or address.get("town") or address.get("village")
            or address.get("municipality"),
            "district": address.get("suburb") or address.get("city_district")
            or address.get("quarter"),
            "region": address.get("state") or address.get("province"),
            "country": (address.get("country_code") or "").upper(),
        }
        return self._result(endpoint, item.get("lon"), item.get("lat"), confidence,
                            str(item.get("display_name") or ""), fields)


def nominatim_confidence(item: Mapping[str, Any], asked_number: str | None) -> Confidence | None:
    """The grade of one Nominatim jsonv2 result.

    ``place_rank`` 30 is an address point, building or POI, 26-27 a street, 21-25 postcodes and
    the smallest places, 13-20 towns and suburbs; anything coarser (a county, a state, a country)
    is no answer for a customer's address.
    """
    address = item.get("address") if isinstance(item.get("address"), dict) else {}
    assert isinstance(address, dict)
    rank = int(item.get("place_rank") or 0)
    category = item.get("category") or item.get("class")
    kind = item.get("type")
    addresstype = item.get("addresstype")
    number = address.get("house_number")
    if category == "place" and kind == "house" and item.get("osm_type") in ("way", "W") \
            and number:
        return Confidence.INTERPOLATED  # the interpolation line, not a mapped house
    if rank >= 28 and number:
        if asked_number and not _same_number(asked_number, str(number)):
            return Confidence.STREET  # another house on the street
        return Confidence.EXACT
    if rank >= 26 or addresstype in ("road", "street") or category == "highway":
        return Confidence.STREET
    if addresstype == "postcode" or kind == "postcode" or (
            category == "boundary" and kind == "postal_code"):
        return Confidence.POSTCODE
    if rank >= 13 or addresstype in _LOCALITY_TYPES or kind in _LOCALITY_TYPES:
        return Confidence.LOCALITY
    return None


# -- Photon -----------------------------------------------------------------------------------
class PhotonGeocoder(HttpGeocoder):
    """A self-hosted Photon: ``/api?q=`` (the fields joined in address order), ``/reverse``."""

    name = "photon"
    default_rate = 20.0

    def _forward(self, query: AddressQuery) -> GeocodeResult | None:
        data = self._get("/api", {"q": _free_text(query), "limit": 1, "lang": self.language})
        feats = _features(self.name, self.base_url + "/api", data)
        if not feats:
            return None
        return self._read("/api", feats[0], query.housenumber)

    def _reverse(self, lon: float, lat: float) -> GeocodeResult | None:
        data = self._get("/reverse", {"lon": f"{lon:.7f}", "lat": f"{lat:.7f}", "limit": 1,
                                      "lang": self.language})
        feats = _features(self.name, self.base_url + "/reverse", data)
        return self._read("/reverse", feats[0], None) if feats else None

    def _read(self, endpoint: str, feature: Mapping[str, Any],
              asked_number: str | None) -> GeocodeResult | None:
        props = feature.get("properties") or {}
        assert isinstance(props, dict)
        confidence = photon_confidence(props, asked_number)
        if confidence is None:
            return None
        lon, lat = _point(self.name, self.base_url + endpoint, feature)
        street = props.get("street") or (props.get("name") if props.get("type") == "street"
                                         else None)
        fields = {"housenumber": props.get("housenumber"), "street": street,
                  "postcode": props.get("postcode"), "city": props.get("city"),
                  "district": props.get("district") or props.get("locality"),
                  "region": props.get("state"),
                  "country": (props.get("countrycode") or "").upper()}
        label_parts = [props.get("name") if props.get("type") not in ("house", "street") else None,
                       " ".join(str(p) for p in (street, props.get("housenumber")) if p),
                       " ".join(str(p) for p in (props.get("postcode"), props.get("city")) if p),
                       props.get("country")]
        label = ", ".join(str(p) for p in label_parts if p)
        return self._result(endpoint, lon, lat, confidence, label, fields)


def photon_confidence(props: Mapping[str, Any], asked_number: str | None) -> Confidence | None:
    """The grade of one Photon feature, from ``type``, ``housenumber`` and the OSM tag."""
    kind = props.get("type")
    number = props.get("housenumber")
    if props.get("osm_value") == "postcode" or props.get("osm_key") == "postcode":
        return Confidence.POSTCODE
    if number and kind in ("house", "other", None):
        if asked_number and not _same_number(asked_number, str(number)):
            return Confidence.STREET
        return Confidence.EXACT
    if kind == "street" or (kind == "house" and props.get("street")):
        return Confidence.STREET
    if kind in ("locality", "district", "city"):
        return Confidence.LOCALITY
    return None  # county, state, country: no answer for an address


# -- Pelias -----------------------------------------------------------------------------------
_PELIAS_LOCALITY = {"neighbourhood", "borough", "locality", "localadmin", "microhood",
                    "macrohood"}


class PeliasGeocoder(HttpGeocoder):
    """A self-hosted Pelias: ``/v1/search/structured`` for fields, ``/v1/search`` for text."""

    name = "pelias"
    default_rate = 20.0

    def __init__(self, url: str, *, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.api_key = api_key

    def _forward(self, query: AddressQuery) -> GeocodeResult | None:
        common = {"size": 1, "lang": self.language, "api_key": self.api_key,
                  "boundary.country": query.country}
        if _structured(query):
            endpoint = "/v1/search/structured"
            address = " ".join(p for p in (query.housenumber, query.street) if p)
            params = {**common, "address": address or None, "locality": query.city,
                      "neighbourhood": query.district, "region": query.region,
                      "postalcode": query.postcode, "country": query.country}
        else:
            endpoint = "/v1/search"
            params = {**common, "text": _free_text(query)}
        feats = _features(self.name, self.base_url + endpoint, self._get(endpoint, params))
        if not feats:
            return None
        return self._read(endpoint, feats[0], query.housenumber)

    def _reverse(self, lon: float, lat: float) -> GeocodeResult | None:
        endpoint = "/v1/reverse"
        feats = _features(self.name, self.base_url + endpoint, self._get(endpoint, {
            "point.lat": f"{lat:.7f}", "point.lon": f"{lon:.7f}", "size": 1,
            "layers": "address,venue,street", "lang": self.language, "api_key": self.api_key}))
        return self._read(endpoint, feats[0], None) if feats else None

    def _read(self, endpoint: str, feature: Mapping[str, Any],
              asked_number: str | None) -> GeocodeResult | None:
        props = feature.get("properties") or {}
        assert isinstance(props, dict)
        confidence = pelias_confidence(props, asked_number)
        if confidence is None:
            return None
        lon, lat = _point(self.name, self.base_url + endpoint, feature)
        fields = {"housenumber": props.get("housenumber"), "street": props.get("street"),
                  "postcode": props.get("postalcode"),
                  "city": props.get("locality") or props.get("localadmin"),
                  "district": props.get("neighbourhood") or props.get("borough"),
                  "region": props.get("region"),
                  "country": _alpha2(props.get("country_code") or props.get("country_a"))}
        return self._result(endpoint, lon, lat, confidence,
                            str(props.get("label") or props.get("name") or ""), fields)


def _alpha2(code: Any) -> str:
    """Pelias gives ISO alpha-3 in ``country_a`` (newer versions add alpha-2 ``country_code``);
    the contract keeps alpha-2, so only a two-letter code is passed on."""
    text = str(code or "").upper()
    return text if len(text) == 2 else ""


def pelias_confidence(props: Mapping[str, Any], asked_number: str | None) -> Confidence | None:
    """The grade of one Pelias feature, from ``layer``, ``match_type`` and ``accuracy``."""
    layer = props.get("layer")
    match = props.get("match_type")
    number = props.get("housenumber")
    if layer in ("address", "venue") and number:
        if match == "interpolated":
            return Confidence.INTERPOLATED
        if asked_number and not _same_number(asked_number, str(number)):
            return Confidence.STREET
        if match in ("exact", None) or props.get("accuracy") == "point":
            return Confidence.EXACT
    if layer == "street" or (layer in ("address", "venue") and props.get("street")):
        return Confidence.STREET
    if layer == "postalcode":
        return Confidence.POSTCODE
    if layer in _PELIAS_LOCALITY or layer == "venue":
        return Confidence.LOCALITY
    return None  # county, region, country: no answer for an address


# -- one setting picks one ----------------------------------------------------------------------
ENGINES: dict[str, type[HttpGeocoder]] = {
    "nominatim": NominatimGeocoder,
    "photon": PhotonGeocoder,
    "pelias": PeliasGeocoder,
}


def make_engine(name: str, url: str, **options: Any) -> HttpGeocoder:
    """The client for ``name`` (nominatim, photon or pelias) at ``url``; a ValueError naming the
    choices for anything else."""
    cls = ENGINES.get((name or "").strip().lower())
    if cls is None:
        raise ValueError(f"unknown geocoding engine {name!r}: choose one of "
                         f"{', '.join(ENGINES)}")
    return cls(url, **options)
