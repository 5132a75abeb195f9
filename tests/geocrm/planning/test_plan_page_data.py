"""The plan pages' map as data (issue 13): compact, exact road lines, stale legs dropped,
names as plain text, ODbL credit only when road data shows."""

from __future__ import annotations

from datetime import date

from flask import Flask

from geocrm.planning.maps import LeftOut
from geocrm.planning.page_data import decode_line, encode_line, plan_map_data, stored_legs
from geocrm.planning.read import PlanView, StopView


def test_lines_round_trip_to_the_metre_as_an_encoded_polyline() -> None:
    line = [[60.17012, 24.94003], [60.17020, 24.94011], [60.16998, 24.93990]]
    encoded = encode_line(line)
    assert decode_line(encoded) == line
    assert len(encoded) < 24  # a street's steps cost a few characters
    # the format's published example (precision 1e-5)
    assert encode_line([[38.5, -120.2], [40.7, -120.95], [43.252, -126.453]]) == (
        "_p~iF~ps|U_ulLnnqC_mqNvxq`@")
    assert encode_line([]) == "" and decode_line("") == []


def test_legs_only_while_the_stops_keep_their_order() -> None:
    legs = [{"s": 60, "m": 500, "line": [[60.0, 24.0], [60.1, 24.1]]},
            {"s": 90, "m": 700, "line": [[60.1, 24.1], [60.0, 24.0]]}]
    assert stored_legs({"legs": legs, "legs_for": [7]}, [7]) == legs
    assert stored_legs({"legs": legs, "legs_for": [7]}, [8]) is None  # edited since
    assert stored_legs({"legs": legs[:1], "legs_for": [7]}, [7]) is None  # incomplete
    assert stored_legs({}, [7]) is None and stored_legs(None, []) is None


def _plan(stops: list[StopView]) -> PlanView:
    return PlanView(3, 9, "Rep <i>A</i>", date(2026, 5, 15), "draft", "#1f77b4",
                    (60.17, 24.92), (8 * 3600, 17 * 3600), (None, 0), stops, 1200.0,
                    8 * 3600, 16 * 3600, 300, [])


def test_map_data_roads_texts_and_attribution(app: Flask) -> None:
    stop = StopView(11, 1, 7, "<script>alert(1)</script> Oy", "Street 1", 60.16, 24.91,
                    8 * 3600 + 600, 8 * 3600 + 600, 9 * 3600, 600, 2500.0, True, "planned", 0)
    legs = [{"s": 600, "m": 2500, "line": [[60.17, 24.92], [60.165, 24.92], [60.16, 24.91]]},
            {"s": 660, "m": 2600, "line": [[60.16, 24.91], [60.17, 24.92]]}]
    with app.test_request_context():
        data = plan_map_data([_plan([stop])], {3: {"legs": legs, "legs_for": [7]}},
                             [LeftOut(60.2, 24.9, "Closed <b>Shop</b>", "closed on Friday")])
        (plan,) = data["plans"]
        assert plan["key"] == "plan-3" and plan["colour"] == "#1f77b4"
        assert plan["stops"][0]["name"] == "<script>alert(1)</script> Oy"  # text, not HTML
        assert plan["stops"][0]["pinned"] is True and plan["stops"][0]["times"] == "08:10–09:00"
        assert "status" not in plan["stops"][0]  # planned: the default is left out
        assert [decode_line(leg["line"]) for leg in plan["legs"]] == [leg["line"] for leg in legs]
        assert plan["legs"][0]["text"] == "10 min · 2.5 km"
        assert data["leftOut"] == [{"name": "Closed <b>Shop</b>", "lat": 60.2, "lon": 24.9,
                                    "reason": "closed on Friday"}]
        assert "OpenStreetMap" in data["attribution"]
        straight = plan_map_data([_plan([stop])], {3: {}}, [])
        assert straight["plans"][0]["legs"] is None and straight["attribution"] is None
