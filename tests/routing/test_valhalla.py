"""Valhalla's /sources_to_targets and /route against a fake server replaying the documented API.

The replies follow Valhalla's API reference (valhalla.github.io/valhalla/api): the matrix
answers ``sources_to_targets`` as rows of ``{"distance", "time", "from_index", "to_index"}``
(km and s with ``"units": "kilometers"``; a null cell is no route); the route answers
``trip.legs`` with a ``summary`` (``time`` s, ``length`` km) and ``shape`` as an encoded
polyline of six digits; errors are HTTP 4xx with ``{"error_code", "error", "status_code"}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from routing import GreatCircle, Location, ModelError, RoadService, ValhallaMatrix, decode_polyline

GOOGLE_POINTS = [(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]
GOOGLE_5 = "_p~iF~ps|U_ulLnnqC_mqNvxq`@"  # Google's documented example, five digits


def encode(points: list[tuple[float, float]], precision: int = 6) -> str:
    """Google's polyline algorithm (the fake's encoder; checked against Google's example)."""
    out, last = [], (0, 0)
    for lat, lon in points:
        here = (round(lat * 10**precision), round(lon * 10**precision))
        for value in (here[0] - last[0], here[1] - last[1]):
            value = ~(value << 1) if value < 0 else value << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        last = here
    return "".join(out)


def _index(p: dict[str, float]) -> int:
    """The fake's points lie on a line of latitude 60 + 0.001 × index."""
    return round((p["lat"] - 60) / 0.001)


def _corner(a: dict[str, float], b: dict[str, float]) -> tuple[float, float]:
    return (a["lat"], b["lon"])


class _Valhalla(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict[str, Any]]] = []
    answer = "ok"  # ok | error | 500 | null | badjson | shape | slow | legs | status

    def do_POST(self) -> None:  # noqa: N802
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append((self.path, request))
        answer = type(self).answer
        if answer == "slow":
            time.sleep(1.0)
        if answer == "500":
            self._send(500, b"<html>Internal Server Error</html>")
            return
        if answer == "error":
            self._send(400, json.dumps({"error_code": 171, "error": "No suitable edges near "
                                        "location", "status_code": 400,
                                        "status": "Bad Request"}).encode())
            return
        if answer == "badjson":
            self._send(200, b"{not json")
            return
        if self.path == "/sources_to_targets":
            body: dict[str, Any] = self._matrix(request)
        else:
            body = self._route(request)
        self._send(200, json.dumps(body).encode())

    def _matrix(self, request: dict[str, Any]) -> dict[str, Any]:
        src, dst = request["sources"], request["targets"]
        rows = [[{"distance": 0.9 * abs(_index(a) - _index(b)),
                  "time": 60 * abs(_index(a) - _index(b)), "from_index": i, "to_index": j}
                 for j, b in enumerate(dst)] for i, a in enumerate(src)]
        if type(self).answer == "null":
            rows[0][-1] = {"distance": None, "time": None, "from_index": 0,
                           "to_index": len(dst) - 1}
        if type(self).answer == "shape":
            rows = rows[:-1]
        return {"sources_to_targets": rows, "sources": src, "targets": dst,
                "units": "kilometers"}

    def _route(self, request: dict[str, Any]) -> dict[str, Any]:
        stops = request["locations"]
        legs = [{"maneuvers": [], "has_toll": False,
                 "summary": {"time": 60.0, "length": 0.4, "has_toll": False},
                 "shape": encode([(a["lat"], a["lon"]), _corner(a, b), (b["lat"], b["lon"])])}
                for a, b in zip(stops[:-1], stops[1:], strict=True)]
        if type(self).answer == "legs":
            legs = legs[:-1]
        return {"trip": {"locations": stops, "legs": legs,
                         "summary": {"time": 60.0 * len(legs), "length": 0.4 * len(legs)},
                         "status_message": "Found route between points",
                         "status": 1 if type(self).answer == "status" else 0,
                         "units": "kilometers", "language": "en-US"}}

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def valhalla() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Valhalla)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Valhalla.calls.clear()
    _Valhalla.answer = "ok"
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def line(n: int) -> list[Location]:
    return [Location(round(60 + 0.001 * i, 6), round(24.9 + 0.002 * i, 6)) for i in range(n)]


def test_polyline6_decodes_known_points() -> None:
    """Google's documented example decodes at five digits, and the same points at Valhalla's
    six; a string that is not a polyline is refused rather than drawn somewhere."""
    assert encode(GOOGLE_POINTS, 5) == GOOGLE_5
    assert decode_polyline(GOOGLE_5, precision=5) == GOOGLE_POINTS
    assert decode_polyline("_izlhA~rlgdF_{geC~ywl@_kwzCn`{nI") == GOOGLE_POINTS
    assert decode_polyline("") == []
    with pytest.raises(ValueError):
        decode_polyline("_izlhA~rlgdF_{geC~")  # cut inside a coordinate
    with pytest.raises(ValueError):
        decode_polyline("_izlhA ~rlgdF")


def test_matrix_reads_the_documented_reply(valhalla: str) -> None:
    """km and s become whole metres and seconds; the request is a car's, points as lat/lon."""
    m = ValhallaMatrix(valhalla).matrices(line(3), 30)
    assert m.travel_s.tolist() == [[0, 60, 120], [60, 0, 60], [120, 60, 0]]
    assert m.distance_m.tolist() == [[0, 900, 1800], [900, 0, 900], [1800, 900, 0]]
    assert m.travel_s.dtype == m.distance_m.dtype == "int64" and m.warnings == []
    ((path, body),) = _Valhalla.calls
    assert path == "/sources_to_targets"
    assert body["costing"] == "auto" and body["units"] == "kilometers"
    assert body["sources"] == body["targets"] == [
        {"lat": 60.0, "lon": 24.9}, {"lat": 60.001, "lon": 24.902}, {"lat": 60.002, "lon": 24.904}]


def test_matrix_in_blocks(valhalla: str) -> None:
    """Five points in blocks of two: nine requests of at most two sources and two targets,
    assembled into the one full matrix."""
    m = ValhallaMatrix(valhalla, block=2).matrices(line(5), 30)
    assert len(_Valhalla.calls) == 9 and m.warnings == []
    assert all(len(b["sources"]) <= 2 and len(b["targets"]) <= 2 for _, b in _Valhalla.calls)
    assert m.travel_s.tolist() == [[60 * abs(i - j) for j in range(5)] for i in range(5)]
    assert m.distance_m[0, 4] == 3600
    assert _Valhalla.calls[2][1]["sources"] == [{"lat": 60.0, "lon": 24.9},
                                                {"lat": 60.001, "lon": 24.902}]
    assert _Valhalla.calls[2][1]["targets"] == [{"lat": 60.004, "lon": 24.908}]


@pytest.mark.parametrize(("answer", "why"), [
    ("error", "HTTP 400: 171 No suitable edges near location"),
    ("500", "HTTP Error 500"),
    ("null", "no route from point 0 to point 2"),
    ("badjson", ""),
    ("shape", "incomplete table"),
    ("slow", "timed out"),
])
def test_any_failure_falls_back_with_the_road_service_warning(
        valhalla: str, answer: str, why: str) -> None:
    """Every kind of failure: great-circle for the whole matrix and the same warning words as
    OSRM's, which the app recognises by their start."""
    _Valhalla.answer = answer
    m = ValhallaMatrix(valhalla, timeout_s=0.3).matrices(line(3), 30)
    expected = GreatCircle().matrices(line(3), 30)
    assert m.travel_s.tolist() == expected.travel_s.tolist()
    assert m.distance_m.tolist() == expected.distance_m.tolist()
    (warning,) = m.warnings
    assert warning.startswith(f"road service {valhalla} unavailable (")
    assert warning.endswith("); used great-circle") and why in warning


def test_route_legs_are_the_decoded_shapes(valhalla: str) -> None:
    """Two legs: the summary's seconds and km (as metres), the line decoded from polyline6."""
    stops = line(3)
    legs = ValhallaMatrix(valhalla).route(stops)
    assert [(leg.seconds, leg.metres) for leg in legs] == [(60.0, 400.0), (60.0, 400.0)]
    assert legs[0].line == ((60.0, 24.9), (60.0, 24.902), (60.001, 24.902))
    assert legs[1].line == ((60.001, 24.902), (60.001, 24.904), (60.002, 24.904))
    ((path, body),) = _Valhalla.calls
    assert path == "/route"
    assert body["costing"] == "auto" and body["directions_type"] == "none"
    assert body["units"] == "kilometers"
    assert body["locations"] == [{"lat": p.lat, "lon": p.lon, "type": "break"} for p in stops]
    assert isinstance(ValhallaMatrix(valhalla), RoadService)


def test_route_in_blocks_shares_the_joining_stop(valhalla: str) -> None:
    """Four stops in blocks of two: three requests, each starting where the last ended."""
    stops = line(4)
    legs = ValhallaMatrix(valhalla, block=2).route(stops)
    assert len(legs) == 3 and len(_Valhalla.calls) == 3
    assert [[(p["lat"], p["lon"]) for p in b["locations"]] for _, b in _Valhalla.calls] == [
        [(s.lat, s.lon) for s in stops[i:i + 2]] for i in range(3)]
    assert legs[1].line[0] == legs[0].line[-1] == (60.001, 24.902)
    assert ValhallaMatrix(valhalla).route(stops[:1]) == []


@pytest.mark.parametrize("answer", ["error", "500", "badjson", "legs", "status"])
def test_route_failure_is_raised_for_the_caller(valhalla: str, answer: str) -> None:
    """An error body, a server error, bad JSON, a leg missing or a trip status other than 0
    raise, so the map draws straight lines instead."""
    _Valhalla.answer = answer
    with pytest.raises((OSError, ValueError)):
        ValhallaMatrix(valhalla).route(line(3))


def test_settings_are_checked_when_built() -> None:
    """A missing URL, a bad timeout or block is refused naming the field."""
    for field, kwargs in [("base_url", {"base_url": ""}),
                          ("timeout_s", {"base_url": "http://v", "timeout_s": 0}),
                          ("timeout_s", {"base_url": "http://v", "timeout_s": float("nan")}),
                          ("block", {"base_url": "http://v", "block": 1}),
                          ("block", {"base_url": "http://v", "block": 2.5})]:
        with pytest.raises(ModelError) as err:
            ValhallaMatrix(**kwargs)  # type: ignore[arg-type]
        assert err.value.field == field
