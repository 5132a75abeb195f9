"""The region basemap builder on a hand-made harbour town (fixtures/harbour_town.osm).

The archive is read back with the ``pmtiles`` reader and every tile decoded with
``mapbox-vector-tile``: the layers, kinds and names a map draws must be there, at the zooms the
schema promises (buildings and paths only close up), with the sea on the right side of the
coastline. The offline subset keeps the territories' zooms first and stays within its budget.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

import places
from places.roads import RegionError

TOWN = Path(__file__).parent / "fixtures" / "harbour_town.osm"
ROADS_ONLY = Path(__file__).parent / "fixtures" / "river_town.osm"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    target = tmp_path_factory.mktemp("basemap") / "basemap.pmtiles"
    meta = places.build_basemap(TOWN, target, name="Harbour")
    return target, meta


def decoded(path: Path) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """zoom -> layer -> every feature (properties and tile geometry) of that zoom's tiles."""
    out: dict[int, dict[str, list[dict[str, Any]]]] = {}
    with open(path, "rb") as f:
        for (z, _x, _y), blob in all_tiles(MmapSource(f)):
            tile = mapbox_vector_tile.decode(gzip.decompress(blob))
            for name, layer in tile.items():
                out.setdefault(z, {}).setdefault(name, []).extend(layer["features"])
    return out


def names(features: list[dict[str, Any]]) -> set[str]:
    return {f["properties"]["name"] for f in features if "name" in f["properties"]}


def test_header_and_metadata(archive: tuple[Path, dict[str, Any]]) -> None:
    path, meta = archive
    with open(path, "rb") as f:
        reader = Reader(MmapSource(f))
        header, metadata = reader.header(), reader.metadata()
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    # the town is 0.4 km wide: below z4 it is less than one tile unit, nothing to draw
    assert (header["min_zoom"], header["max_zoom"]) == (4, 15)
    assert (meta["min_zoom"], meta["max_zoom"]) == (4, 15)
    assert header["min_lon_e7"] == 239990000 and header["max_lat_e7"] == 600040000
    assert metadata["attribution"] == "© OpenStreetMap contributors"
    assert {layer["id"] for layer in metadata["vector_layers"]} == {
        "earth", "water", "landuse", "roads", "buildings", "places"}
    assert meta["tiles"] == header["addressed_tiles_count"]
    assert meta["features"]["buildings"] == 1 and meta["bytes"] == path.stat().st_size


def test_streets_water_parks_buildings_and_labels_at_z15(
        archive: tuple[Path, dict[str, Any]]) -> None:
    z15 = decoded(archive[0])[15]
    roads = {f["properties"].get("name"): f["properties"] for f in z15["roads"]}
    assert roads["Meritie"]["kind"] == "minor_road"
    assert roads["Meritie"]["kind_detail"] == "residential"
    assert roads["Meritie"]["name:ja"] == "メリティエ"  # the app's languages kept for labels
    assert roads["Kaivokatu"]["kind"] == "major_road" and roads["Kaivokatu"]["ref"] == "51"
    assert roads[None]["kind"] == "path"  # the unnamed footway
    assert {f["properties"]["kind"] for f in z15["water"]} == {"lake", "ocean"}
    assert names(z15["water"]) == {"Lampi"}
    assert [f["properties"]["kind"] for f in z15["landuse"]] == ["park"]
    assert len(z15["buildings"]) == 1
    places_ = {f["properties"]["name"]: f["properties"] for f in z15["places"]}
    # districts are labelled like towns (the theme labels localities), their kind kept in detail
    assert places_["Kalliosaari"]["kind"] == "locality"
    assert places_["Kalliosaari"]["kind_detail"] == "suburb"
    assert places_["Kalliosaari"]["min_zoom"] == 11
    assert places_["Testikaupunki"]["kind"] == "locality"
    assert places_["Testikaupunki"]["population_rank"] == 11
    assert z15["earth"], "the land is drawn"


def test_zooms_keep_what_a_map_shows_at_that_scale(archive: tuple[Path, dict[str, Any]]) -> None:
    zooms = decoded(archive[0])
    assert "buildings" not in zooms[13] and zooms[14]["buildings"]
    assert "Meritie" not in names(zooms[11].get("roads", []))
    assert "Meritie" in names(zooms[12]["roads"])
    assert all(f["properties"]["kind"] != "path" for f in zooms[13]["roads"])
    assert names(zooms[8]["roads"]) == {"Kaivokatu"}  # a primary road from z8
    assert names(zooms[5]["places"]) == {"Testikaupunki"}  # the city from z4, suburbs later
    assert set(zooms[4]) <= {"earth", "water", "places"}
    assert sorted(zooms) == list(range(4, 16))


def test_sea_is_on_the_right_of_the_coastline() -> None:
    """The coastline runs eastwards at about lat 60.000: the sea is south of it, land north."""
    data = places.read_basemap(TOWN)
    geoms, props, _ = data.layers["water"]
    ocean = [g for g, p in zip(geoms, props, strict=True) if p["kind"] == "ocean"]
    earth = data.layers["earth"][0][0]
    assert len(ocean) == 1
    # Web Mercator y: north is larger
    assert shapely.bounds(ocean[0])[3] < shapely.bounds(earth)[3]
    assert ocean[0].centroid.y < earth.centroid.y
    assert shapely.area(shapely.intersection(ocean[0], earth)) < 1.0


def test_simplified_per_zoom(tmp_path: Path) -> None:
    """A wiggly street keeps its shape at z15 and drops sub-pixel wiggles at z12."""
    nodes = "".join(
        f'<node id="{i}" version="1" lat="{60.001 + (0.00002 if i % 2 else 0):.5f}" '
        f'lon="{24.0 + i * 0.0001:.4f}"/>' for i in range(1, 41))
    refs = "".join(f'<nd ref="{i}"/>' for i in range(1, 41))
    osm = tmp_path / "wiggle.osm"
    osm.write_text(
        '<?xml version="1.0"?><osm version="0.6"><bounds minlat="60.0" minlon="24.0" '
        f'maxlat="60.002" maxlon="24.005"/>{nodes}<way id="1" version="1">{refs}'
        '<tag k="highway" v="residential"/><tag k="name" v="Mutkatie"/></way></osm>')
    target = tmp_path / "w.pmtiles"
    places.build_basemap(osm, target)
    zooms = decoded(target)

    def vertices(z: int) -> int:
        return sum(len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"])))
                   for f in zooms[z]["roads"])
    assert vertices(15) > 30
    assert vertices(12) <= 6


def test_replaced_atomically_and_failure_keeps_the_old(tmp_path: Path) -> None:
    target = tmp_path / "region" / "basemap.pmtiles"
    places.build_basemap(TOWN, target)
    first = target.read_bytes()
    places.build_basemap(ROADS_ONLY, target)  # a newer extract replaces it whole
    assert target.read_bytes() != first
    assert sorted(p.name for p in target.parent.iterdir()) == ["basemap.pmtiles"]
    second = target.read_bytes()
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not an extract")
    with pytest.raises(RegionError, match="broken.osm.pbf"):
        places.build_basemap(broken, target)
    assert target.read_bytes() == second
    assert sorted(p.name for p in target.parent.iterdir()) == ["basemap.pmtiles"]


def test_nothing_to_draw_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6">'
                     '<node id="1" version="1" lat="60" lon="24"/></osm>')
    with pytest.raises(RegionError, match="empty.osm: no roads"):
        places.build_basemap(empty, tmp_path / "b.pmtiles")
    assert not (tmp_path / "b.pmtiles").exists()


def test_offline_subset_keeps_territory_zooms_first(
        archive: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    source = archive[0]
    full = tmp_path / "all.pmtiles"
    everything = places.offline_subset(source, full, [(24.0, 60.001, 24.001, 60.002)], 10**8)
    assert everything["tiles"] == everything["source_tiles"]
    assert everything["territory_max_zoom"] == everything["region_max_zoom"] == 15
    # a budget a little under the whole archive: the last zooms are left out somewhere
    budget = int(archive[1]["bytes"] * 0.6)
    part = tmp_path / "part.pmtiles"
    kept = places.offline_subset(source, part, [(24.0045, 60.0028, 24.0055, 60.0036)], budget,
                                 pad_deg=0.0)
    assert kept["bytes"] <= budget + 16_384  # directories and metadata on top of the tiles
    assert kept["tiles"] < everything["tiles"]
    assert kept["region_max_zoom"] <= kept["territory_max_zoom"]
    zooms = decoded(part)
    assert max(zooms) == kept["territory_max_zoom"]
    with open(part, "rb") as f:
        assert Reader(MmapSource(f)).metadata()["geocrm_offline"]["budget_bytes"] == budget
    with pytest.raises(RegionError, match="no tiles fit"):
        places.offline_subset(source, tmp_path / "none.pmtiles", [(24.0, 60.0, 24.001, 60.001)],
                              10)


def test_tiles_carry_the_apps_languages_beside_name(archive: tuple[Path, dict[str, Any]]) -> None:
    """A map in Korean or Japanese labels with name:ko / name:ja (protomaps-leaflet's ``lang``
    picks ``name:<lang>``, then ``name``): the tiles keep them where OSM has them, and English
    too; other languages (name:fi) are left out, and the metadata lists the fields."""
    z15 = decoded(archive[0])[15]
    suburb = next(f["properties"] for f in z15["places"]
                  if f["properties"]["name"] == "Kalliosaari")
    assert (suburb["name:ko"], suburb["name:ja"], suburb["name:en"]) == (
        "칼리오사리", "カッリオサーリ", "Rock Island")
    assert "name:fi" not in suburb
    street = next(f["properties"] for f in z15["roads"]
                  if f["properties"].get("name") == "Meritie")
    assert (street["name:ko"], street["name:ja"]) == ("메리티에", "メリティエ")
    city = next(f["properties"] for f in z15["places"]
                if f["properties"]["name"] == "Testikaupunki")
    assert not any(k.startswith("name:") for k in city)  # no name:xx in OSM: name alone
    with open(archive[0], "rb") as f:
        layers = {layer["id"]: layer["fields"]
                  for layer in Reader(MmapSource(f)).metadata()["vector_layers"]}
    assert {"name:ko", "name:ja", "name:en"} <= set(layers["places"]) & set(layers["roads"])
