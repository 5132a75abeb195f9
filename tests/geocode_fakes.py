"""A real local HTTP server that answers like Nominatim, Photon or Pelias, for the engine tests.

It runs in a thread on 127.0.0.1 (a real socket, real HTTP; the client under test does not
know it is a test) and looks addresses up in a small hand-made gazetteer below, answering in
each engine's documented response format:

* Nominatim ``format=jsonv2`` with ``addressdetails=1``: a JSON list of places for ``/search``
  (structured ``street``/``city``/``postalcode`` or free-form ``q``), one object or
  ``{"error": "Unable to geocode"}`` for ``/reverse``. Field names and ``place_rank`` values as in
  https://nominatim.org/release-docs/latest/api/Output/ and
  https://nominatim.org/release-docs/latest/customize/Ranking/ (30 houses, 26/27 streets,
  21-25 postcodes, 16 cities); interpolated numbers are ``osm_type: way``, ``category: place``,
  ``type: house``.
* Photon: a GeoJSON FeatureCollection whose ``properties`` carry ``osm_key``, ``osm_value``,
  ``type`` (house, street, city...), ``housenumber``, ``street``, ``postcode``, ``city``,
  ``countrycode`` (https://github.com/komoot/photon README, "Search and geocoding").
* Pelias ``/v1/search``, ``/v1/search/structured``, ``/v1/reverse``: a FeatureCollection with a
  ``geocoding`` header and ``properties.layer``, ``match_type``, ``accuracy``, ``confidence``,
  ``label`` (https://github.com/pelias/documentation: search.md, structured-geocoding.md,
  reverse.md, result_quality.md).

Knobs for the failure tests: ``fail_status`` (every answer is that HTTP error), ``delay``
(seconds before answering: timeouts), ``garbage`` (an HTML page instead of JSON). Every request
is recorded (path, query parameters) with its arrival time.
"""

from __future__ import annotations

import json
import math
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Place:
    street: str
    number: str | None
    postcode: str
    city: str
    lon: float
    lat: float
    district: str = ""
    interpolated: bool = False


# Central Helsinki, positions near the real ones (enough for the tests: only consistency counts).
GAZETTEER = [
    Place("Mannerheimintie", "1", "00100", "Helsinki", 24.94285, 60.16887, "Kluuvi"),
    Place("Mannerheimintie", "3", "00100", "Helsinki", 24.94240, 60.16920, "Kluuvi"),
    Place("Aleksanterinkatu", "52", "00100", "Helsinki", 24.94190, 60.16850, "Kluuvi"),
    Place("Fredrikinkatu", "41", "00120", "Helsinki", 24.93640, 60.16590, "Kamppi",
          interpolated=True),
    Place("Bulevardi", "5", "00120", "Helsinki", 24.93960, 60.16500, "Punavuori"),
]
STREETS = {"mannerheimintie": (24.9410, 60.1720), "aleksanterinkatu": (24.9470, 60.1686),
           "fredrikinkatu": (24.9360, 60.1640), "bulevardi": (24.9380, 60.1648),
           "runeberginkatu": (24.9270, 60.1760)}
POSTCODES = {"00100": (24.9440, 60.1700), "00120": (24.9380, 60.1640)}
CITIES = {"helsinki": (24.9384, 60.1699), "espoo": (24.6559, 60.2055)}
LICENCE = "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright"


def _n(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold().strip()


@dataclass
class Lookup:
    """What the gazetteer says about one query: the best grade it can answer."""

    kind: str  # house, street, postcode, city, none
    place: Place | None = None
    name: str = ""
    lon: float = 0.0
    lat: float = 0.0


def lookup(street: str | None, number: str | None, postcode: str | None,
           city: str | None) -> Lookup:
    street_n = _n(street)
    if street_n:
        for p in GAZETTEER:
            if _n(p.street) == street_n and number and _n(p.number) == _n(number):
                return Lookup("house", p, p.street, p.lon, p.lat)
        if street_n in STREETS:
            lon, lat = STREETS[street_n]
            return Lookup("street", None, street.strip().title() if street else "", lon, lat)
    if postcode and postcode.strip() in POSTCODES:
        lon, lat = POSTCODES[postcode.strip()]
        return Lookup("postcode", None, postcode.strip(), lon, lat)
    if _n(city) in CITIES:
        lon, lat = CITIES[_n(city)]
        return Lookup("city", None, (city or "").strip().title(), lon, lat)
    return Lookup("none")


def parse_free_text(q: str) -> tuple[str | None, str | None, str | None, str | None]:
    """'Mannerheimintie 1, 00100 Helsinki' -> street, number, postcode, city (enough for tests)."""
    street = number = postcode = city = None
    for part in (p.strip() for p in q.split(",")):
        words = part.split()
        if not words:
            continue
        if words[0].isdigit() and len(words[0]) == 5:
            postcode, city = words[0], " ".join(words[1:]) or None
        elif len(words) >= 2 and words[-1][:1].isdigit():
            street, number = " ".join(words[:-1]), words[-1]
        elif _n(part) in CITIES:
            city = part
        elif street is None:
            street = part
    return street, number, postcode, city


def nearest(lon: float, lat: float, within_m: float = 200.0) -> Place | None:
    best, best_d = None, within_m
    for p in GAZETTEER:
        d = math.hypot((p.lon - lon) * 55_500, (p.lat - lat) * 111_200)
        if d <= best_d:
            best, best_d = p, d
    return best


# -- the three dialects -------------------------------------------------------------------------
def nominatim_item(found: Lookup) -> dict[str, Any]:
    p = found.place
    address: dict[str, Any] = {"country": "Suomi / Finland", "country_code": "fi"}
    if found.kind == "house" and p is not None:
        address.update({"house_number": p.number, "road": p.street, "suburb": p.district,
                        "city": p.city, "postcode": p.postcode})
        if p.interpolated:
            osm = {"osm_type": "way", "osm_id": 900000 + int(p.number or 0),
                   "category": "place", "type": "house", "addresstype": "place"}
        else:
            osm = {"osm_type": "way", "osm_id": 100000 + int(p.number or 0),
                   "category": "building", "type": "yes", "addresstype": "building"}
        rank, name = 30, ""
        display = f"{p.number}, {p.street}, {p.district}, {p.city}, {p.postcode}, Suomi / Finland"
    elif found.kind == "street":
        address.update({"road": found.name, "city": "Helsinki"})
        osm = {"osm_type": "way", "osm_id": 4242, "category": "highway", "type": "primary",
               "addresstype": "road"}
        rank, name = 26, found.name
        display = f"{found.name}, Helsinki, Suomi / Finland"
    elif found.kind == "postcode":
        address.update({"postcode": found.name, "city": "Helsinki"})
        osm = {"osm_type": "relation", "osm_id": 77, "category": "boundary",
               "type": "postal_code", "addresstype": "postcode"}
        rank, name = 21, found.name
        display = f"{found.name}, Helsinki, Suomi / Finland"
    else:
        address.update({"city": found.name})
        osm = {"osm_type": "relation", "osm_id": 34914, "category": "boundary",
               "type": "administrative", "addresstype": "city"}
        rank, name = 16, found.name
        display = f"{found.name}, Suomi / Finland"
    return {"place_id": 1000 + len(display), "licence": LICENCE, **osm,
            "lat": f"{found.lat:.7f}", "lon": f"{found.lon:.7f}", "place_rank": rank,
            "importance": 0.3, "name": name, "display_name": display, "address": address,
            "boundingbox": [f"{found.lat - 0.001:.7f}", f"{found.lat + 0.001:.7f}",
                            f"{found.lon - 0.001:.7f}", f"{found.lon + 0.001:.7f}"]}


def photon_feature(found: Lookup) -> dict[str, Any]:
    p = found.place
    props: dict[str, Any] = {"country": "Suomi / Finland", "countrycode": "FI",
                             "state": "Uusimaa", "osm_type": "W"}
    if found.kind == "house" and p is not None:
        props.update({"osm_id": 100000 + int(p.number or 0), "osm_key": "building",
                      "osm_value": "yes", "type": "house", "housenumber": p.number,
                      "street": p.street, "postcode": p.postcode, "city": p.city,
                      "district": p.district})
    elif found.kind == "street":
        props.update({"osm_id": 4242, "osm_key": "highway", "osm_value": "primary",
                      "type": "street", "name": found.name, "city": "Helsinki"})
    elif found.kind == "postcode":
        props.update({"osm_id": 77, "osm_key": "place", "osm_value": "postcode",
                      "type": "other", "postcode": found.name, "name": found.name})
    else:
        props.update({"osm_id": 34914, "osm_type": "R", "osm_key": "place",
                      "osm_value": "city", "type": "city", "name": found.name})
    return {"type": "Feature", "geometry": {"type": "Point",
                                            "coordinates": [found.lon, found.lat]},
            "properties": props}


def pelias_feature(found: Lookup) -> dict[str, Any]:
    p = found.place
    props: dict[str, Any] = {"source": "openstreetmap", "country": "Finland",
                             "country_a": "FIN", "country_code": "FI", "region": "Uusimaa",
                             "locality": "Helsinki"}
    if found.kind == "house" and p is not None:
        props.update({"layer": "address", "id": f"way/{p.number}",
                      "gid": f"openstreetmap:address:way/{p.number}",
                      "name": f"{p.street} {p.number}", "housenumber": p.number,
                      "street": p.street, "postalcode": p.postcode,
                      "neighbourhood": p.district,
                      "match_type": "interpolated" if p.interpolated else "exact",
                      "accuracy": "point", "confidence": 0.9 if p.interpolated else 1,
                      "label": f"{p.street} {p.number}, Helsinki, Finland"})
        if p.interpolated:
            props["source"] = "openaddresses"
    elif found.kind == "street":
        props.update({"layer": "street", "name": found.name, "street": found.name,
                      "match_type": "fallback", "accuracy": "centroid", "confidence": 0.6,
                      "label": f"{found.name}, Helsinki, Finland"})
    elif found.kind == "postcode":
        props.update({"layer": "postalcode", "name": found.name, "postalcode": found.name,
                      "match_type": "fallback", "accuracy": "centroid", "confidence": 0.5,
                      "label": f"{found.name}, Helsinki, Finland"})
    else:
        props.update({"layer": "locality", "name": found.name, "match_type": "fallback",
                      "accuracy": "centroid", "confidence": 0.4,
                      "label": f"{found.name}, Finland"})
    return {"type": "Feature", "geometry": {"type": "Point",
                                            "coordinates": [found.lon, found.lat]},
            "properties": props}


def collection(features: list[dict[str, Any]], header: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if header is not None:
        out = {"geocoding": header, **out}
    return out


@dataclass
class FakeGeocodeServer:
    """One engine's fake, serving on a free port until ``stop``."""

    engine: str
    fail_status: int | None = None
    delay: float = 0.0
    garbage: bool = False
    requests: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                fake.requests.append((time.monotonic(), parts.path, params))
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.fail_status:
                    self._send(fake.fail_status, {"error": "Internal Server Error"})
                    return
                if fake.garbage:
                    self._send(200, "<html><body>Bad gateway</body></html>", "text/html")
                    return
                status, body = fake.answer(parts.path, params)
                self._send(status, body)

            def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", f"{ctype}; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- routing --
    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if self.engine == "nominatim":
            return self._nominatim(path, params)
        if self.engine == "photon":
            return self._photon(path, params)
        return self._pelias(path, params)

    def _nominatim(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if params.get("format") != "jsonv2":
            return 400, {"error": {"code": 400, "message": "format must be jsonv2 here"}}
        if path == "/search":
            if "q" in params and any(k in params for k in ("street", "city", "postalcode")):
                return 400, {"error": {"code": 400, "message":
                                       "Structured query parameters can not be used together "
                                       "with 'q' parameter."}}
            if "q" in params:
                found = lookup(*parse_free_text(params["q"]))
            else:
                words = params.get("street", "").split()
                number = words[0] if words and words[0][:1].isdigit() else None
                street = " ".join(words[1:] if number else words) or None
                found = lookup(street, number, params.get("postalcode"), params.get("city"))
            return 200, [] if found.kind == "none" else [nominatim_item(found)]
        if path == "/reverse":
            place = nearest(float(params["lon"]), float(params["lat"]))
            if place is None:
                return 200, {"error": "Unable to geocode"}
            return 200, nominatim_item(Lookup("house", place, place.street, place.lon, place.lat))
        return 404, {"error": "unknown endpoint"}

    def _photon(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path == "/api":
            if not params.get("q"):
                return 400, {"message": "missing search term 'q': /?q=berlin"}
            found = lookup(*parse_free_text(params["q"]))
            return 200, collection([] if found.kind == "none" else [photon_feature(found)])
        if path == "/reverse":
            place = nearest(float(params["lon"]), float(params["lat"]))
            feats = [] if place is None else [photon_feature(
                Lookup("house", place, place.street, place.lon, place.lat))]
            return 200, collection(feats)
        return 404, {"message": "not found"}

    def _pelias(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        header = {"version": "0.2", "attribution": "http://127.0.0.1/attribution",
                  "query": params, "engine": {"name": "Pelias", "author": "Mapzen",
                                              "version": "1.0"},
                  "timestamp": int(time.time() * 1000)}
        if path == "/v1/search":
            if not params.get("text"):
                header["errors"] = ["invalid param 'text': text length, must be >0"]
                return 400, collection([], header)
            found = lookup(*parse_free_text(params["text"]))
        elif path == "/v1/search/structured":
            words = params.get("address", "").split()
            number = words[0] if words and words[0][:1].isdigit() else None
            street = " ".join(words[1:] if number else words) or None
            found = lookup(street, number, params.get("postalcode"), params.get("locality"))
        elif path == "/v1/reverse":
            place = nearest(float(params["point.lon"]), float(params["point.lat"]))
            feats = [] if place is None else [pelias_feature(
                Lookup("house", place, place.street, place.lon, place.lat))]
            return 200, collection(feats, header)
        else:
            return 404, {"message": "not found"}
        return 200, collection([] if found.kind == "none" else [pelias_feature(found)], header)
