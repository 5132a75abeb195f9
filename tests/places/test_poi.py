"""The places index: what counts as a business, ways at their centroid, names in every script,
one file replaced atomically, and the search's ranking, areas and radius."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

from places import RegionError
from places.poi import (
    category_of,
    category_weights,
    inside,
    load_pois,
    rank,
    read_pois,
    save_pois,
    within_radius,
)
from tests.places.osm_writer import square, write_osm


def _fixture(tmp_path: Path) -> Path:
    nodes = [
        (1, 60.1700, 24.9400, {"amenity": "cafe", "name": "Kahvila Aalto", "opening_hours":
                               "Mo-Fr 08:00-17:00", "phone": "+358 9 123", "addr:street":
                               "Aleksanterinkatu", "addr:housenumber": "5"}),
        (2, 60.1710, 24.9410, {"amenity": "bench", "name": "Penkki"}),  # furniture
        (3, 60.1720, 24.9420, {"shop": "bakery"}),  # no name
        (4, 37.5665, 126.9780, {"shop": "bakery", "name": "파리바게뜨 시청점",
                                "name:ko": "파리바게뜨 시청점", "name:en": "Paris Baguette"}),
        (5, 35.6812, 139.7671, {"amenity": "cafe", "name": "喫茶ルノアール",
                                "name:ja": "喫茶ルノアール", "name:ja-Hira": "きっさるのあーる"}),
        (6, 60.1800, 24.9500, {"office": "company", "name": "Oy Firma Ab",
                               "website": "https://firma.example"}),
        (7, 60.1801, 24.9501, {"highway": "bus_stop", "name": "Firma"}),
        *square(100, 60.1900, 24.9600),
        (104, 60.1900, 24.9600, {"shop": "hardware", "name": "Rautakauppa"}),
        *square(110, 60.2000, 24.9700),
    ]
    ways = [
        (500, [100, 101, 102, 103, 100], {"building": "retail", "shop": "hardware",
                                          "name": "Rautakauppa"}),  # the node's building
        (501, [110, 111, 112, 113, 110], {"craft": "carpenter", "name": "Puuseppä Oy",
                                          "addr:city": "Helsinki"}),
    ]
    return write_osm(tmp_path / "town.osm", nodes, ways)


def test_reads_named_businesses_with_their_details(tmp_path: Path) -> None:
    index = read_pois(_fixture(tmp_path))
    by_ref = {index.ref(i): index.place(i) for i in range(len(index))}
    assert set(by_ref) == {"node/1", "node/4", "node/5", "node/6", "node/104", "way/501"}
    cafe = by_ref["node/1"]
    assert cafe["category"] == "amenity=cafe"
    assert cafe["opening_hours"] == "Mo-Fr 08:00-17:00"
    assert cafe["addr"] == {"street": "Aleksanterinkatu", "housenumber": "5"}
    assert by_ref["node/4"]["name:ko"] == "파리바게뜨 시청점"
    assert by_ref["node/4"]["name:en"] == "Paris Baguette"
    assert by_ref["node/5"]["name:ja-Hira"] == "きっさるのあーる"
    way = by_ref["way/501"]
    assert way["category"] == "craft=carpenter"
    assert way["lat"] == pytest.approx(60.2000, abs=1e-6)
    assert way["lon"] == pytest.approx(24.9700, abs=1e-6)
    assert index.meta["places"] == 6
    assert index.meta["timestamp"].startswith("2026-01-01")
    assert index.find("way/501") is not None
    assert index.find("way/500") == index.find("node/104")  # the building is an alias
    assert index.find("node/2") is None


def test_category_rule() -> None:
    assert category_of({"name": "X", "shop": "bakery;cafe"}) == "shop=bakery"
    assert category_of({"name": "X", "amenity": "parking"}) is None
    assert category_of({"shop": "bakery"}) is None
    assert category_of({"name": "X", "shop": "yes", "amenity": "cafe"}) == "shop=yes"
    assert category_of({"name": "X", "healthcare": "dentist"}) == "healthcare=dentist"


def test_save_load_round_trip_and_atomic(tmp_path: Path) -> None:
    index = read_pois(_fixture(tmp_path))
    target = save_pois(index, tmp_path / "region" / "places.npz")
    again = load_pois(target)
    assert [again.place(i) for i in range(len(again))] == [index.place(i)
                                                           for i in range(len(index))]
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(RegionError, match="bad.npz"):
        load_pois(tmp_path / "bad.npz")
    with pytest.raises(RegionError, match="no such file"):
        read_pois(tmp_path / "missing.osm.pbf")


def test_rank_by_fit_and_distance(tmp_path: Path) -> None:
    index = read_pois(_fixture(tmp_path))
    weights = category_weights(index, {"cafe": 1.0, "shop=hardware": 0.5})
    # a customer next to the hardware shop: near beats a better category far away
    ranked = list(rank(index, weights, anchors=[(24.9601, 60.1901)], scale_m=500))
    refs = [index.ref(r.i) for r in ranked]
    assert refs[0] == "node/104"
    assert set(refs) == {"node/104", "node/1", "node/5"}  # nothing without weight
    assert ranked[0].distance_m is not None and ranked[0].distance_m < 20
    # without anchors the fit alone ranks
    refs = [index.ref(r.i) for r in rank(index, weights)]
    assert refs[-1] == "node/104"
    # an area, a radius and an exclusion narrow it
    area = inside(index, box(24.93, 60.16, 24.95, 60.18))
    assert [index.ref(r.i) for r in rank(index, weights, mask=area)] == ["node/1"]
    near = within_radius(index, 139.767, 35.681, 500)
    assert [index.ref(r.i) for r in rank(index, weights, mask=near)] == ["node/5"]
    known = np.array([index.ref(i) == "node/1" for i in range(len(index))])
    assert "node/1" not in [index.ref(r.i) for r in rank(index, weights, exclude=known)]


def test_a_business_relation_without_an_area_is_mapped_but_not_placed(tmp_path: Path) -> None:
    """A tram that is a pub (a route relation with amenity=pub) has no position to offer, but
    the extract has it: an account made from it is not closed."""
    nodes = [(1, 60.17, 24.94, {}), (2, 60.18, 24.95, {})]
    ways = [(10, [1, 2], {"railway": "tram"})]
    relations = [(77, [("way", 10, "")], {"type": "route", "route": "tram",
                                          "amenity": "pub", "name": "Spårakoff"}),
                 (78, [("way", 10, "")], {"type": "route", "route": "tram", "name": "6"})]
    index = read_pois(write_osm(tmp_path / "tram.osm", nodes, ways, relations=relations))
    assert len(index) == 0 and index.unplaced == ["relation/77"]
    assert index.mapped("relation/77") and not index.mapped("relation/78")
    again = load_pois(save_pois(index, tmp_path / "p.npz"))
    assert again.mapped("relation/77")
