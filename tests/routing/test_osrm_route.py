"""OSRM-compatible /table and /route against a fake server replaying the documented JSON shapes.

The replies follow the OSRM HTTP API documentation (project-osrm.org/docs/v5.24.0/api):
``/table`` answers ``durations``/``distances`` rows per source plus ``sources``/``destinations``
waypoints; ``/route`` with ``steps=true&geometries=geojson&overview=false`` answers one route
whose ``legs`` carry ``steps``, each with a GeoJSON ``LineString`` geometry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from routing import Location, OsrmTable, osrm_route


def _waypoint(lon: float, lat: float) -> dict[str, Any]:
    return {"hint": "KSoKADRYroqUBAEAEAAAABkAAAAGAAAAAAAAABAAAAAZAAAABgAAAAAAAAA=",
            "distance": 4.2, "name": "Mannerheimintie", "location": [lon, lat]}


def _step(a: list[float], b: list[float], name: str, kind: str) -> dict[str, Any]:
    """A documented RouteStep: a geometry from a to b through a corner."""
    corner = [b[0], a[1]]
    return {"geometry": {"type": "LineString", "coordinates": [a, corner, b]},
            "maneuver": {"bearing_after": 90, "bearing_before": 0, "location": a, "type": kind},
            "mode": "driving", "driving_side": "right", "name": name, "intersections": [],
            "weight": 30.0, "duration": 30.0, "distance": 200.0}


class _Fake(BaseHTTPRequestHandler):
    calls: list[str] = []
    answer: str = "Ok"

    def do_GET(self) -> None:  # noqa: N802
        type(self).calls.append(self.path)
        url = urlsplit(self.path)  # not urlparse: it cuts the path at ";"
        service, coords = url.path.split("/")[1], url.path.split("/driving/")[1]
        points = [[float(x) for x in c.split(",")] for c in coords.split(";")]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if type(self).answer != "Ok":
            body: dict[str, Any] = {"code": type(self).answer, "message": "Impossible route"}
        elif service == "table":
            src = [int(x) for x in query["sources"].split(";")]
            dst = [int(x) for x in query["destinations"].split(";")]
            body = {"code": "Ok",
                    "durations": [[100.0 * abs(a - b) for b in dst] for a in src],
                    "distances": [[900.0 * abs(a - b) for b in dst] for a in src],
                    "sources": [_waypoint(*points[a]) for a in src],
                    "destinations": [_waypoint(*points[b]) for b in dst]}
        else:
            assert query["steps"] == "true" and query["geometries"] == "geojson"
            legs = []
            for a, b in zip(points[:-1], points[1:], strict=True):
                steps = [_step(a, [(a[0] + b[0]) / 2, b[1]], "Mannerheimintie", "depart"),
                         _step([(a[0] + b[0]) / 2, b[1]], b, "Aleksanterinkatu", "turn"),
                         {**_step(b, b, "", "arrive"),
                          "geometry": {"type": "LineString", "coordinates": [b, b]},
                          "duration": 0.0, "distance": 0.0}]
                legs.append({"steps": steps, "summary": "Mannerheimintie, Aleksanterinkatu",
                             "weight": 60.0, "duration": 60.0, "distance": 400.0})
            body = {"code": "Ok", "waypoints": [_waypoint(*p) for p in points],
                    "routes": [{"legs": legs, "weight_name": "routability",
                                "weight": 60.0 * len(legs), "duration": 60.0 * len(legs),
                                "distance": 400.0 * len(legs)}]}
        data = json.dumps(body).encode()
        self.send_response(200 if body["code"] == "Ok" else 400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Fake.calls.clear()
    _Fake.answer = "Ok"
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


STOPS = [Location(60.17, 24.94), Location(60.168, 24.95), Location(60.172, 24.96)]


def test_route_legs_join_their_steps_lines(fake: str) -> None:
    """Two legs, each its steps' lines joined (repeated points once), times from the legs."""
    legs = OsrmTable(fake).route(STOPS)
    assert [(leg.seconds, leg.metres) for leg in legs] == [(60.0, 400.0), (60.0, 400.0)]
    first = legs[0].line
    assert first[0] == (60.17, 24.94) and first[-1] == (60.168, 24.95)
    assert (60.17, 24.945) in first  # the corner of the first step: along the streets
    assert len(first) == len(set(first))
    assert "/route/v1/driving/24.940000,60.170000;24.950000,60.168000;24.960000,60.172000" \
        in _Fake.calls[0]


def test_route_in_blocks_shares_the_joining_stop(fake: str) -> None:
    """Blocks of two stops: two requests, the second starting where the first ended."""
    legs = osrm_route(fake, STOPS, block=2)
    assert len(legs) == 2 and len(_Fake.calls) == 2
    assert legs[1].line[0] == (60.168, 24.95)


def test_route_error_is_raised_for_the_caller(fake: str) -> None:
    """A documented error reply (NoRoute, HTTP 400) raises so the map draws straight lines."""
    _Fake.answer = "NoRoute"
    with pytest.raises((OSError, ValueError)):
        OsrmTable(fake).route(STOPS)


def test_table_reads_the_documented_reply(fake: str) -> None:
    """The /table reply's durations and distances fill the matrices, with no warning."""
    m = OsrmTable(fake).matrices(STOPS, 30)
    assert m.travel_s.tolist() == [[0, 100, 200], [100, 0, 100], [200, 100, 0]]
    assert m.distance_m[0, 2] == 1800 and m.warnings == []
