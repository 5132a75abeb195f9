"""The region geocoder on small synthetic towns (tests/places/geocode/osm_towns.py).

Every grade (exact, interpolated, street, postcode, locality), tolerant street names (case,
accents, Finnish/Swedish names, abbreviations in several languages), contradictions (a city or
postcode that disagrees must never give a confident pin), namesakes in two towns, reverse
geocoding, and the index file (round trip, atomic replace, bad files).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from places.geocode import (
    AddressQuery,
    Confidence,
    Geocoder,
    GeocodeResult,
    RegionGeocoder,
    load_addresses,
    read_addresses,
    save_addresses,
)
from places.geocode.text import fold, number_key, parse_text, street_keys
from places.roads import RegionError, haversine_m
from tests.places.geocode import osm_towns as towns


@pytest.fixture(scope="module")
def geo(tmp_path_factory: pytest.TempPathFactory) -> RegionGeocoder:
    path = towns.finnish_towns(tmp_path_factory.mktemp("fi") / "towns.osm")
    return RegionGeocoder(read_addresses(path))


def metres(r: GeocodeResult | None, where: tuple[float, float]) -> float:
    assert r is not None
    return float(haversine_m(r.lat, r.lon, where[0], where[1]))


def ask(g: RegionGeocoder, text: str | None = None, **fields: str) -> GeocodeResult | None:
    return g.forward(AddressQuery(text=text, **fields))


def test_the_geocoder_speaks_the_contract(geo: RegionGeocoder) -> None:
    engine: Geocoder = geo
    assert engine.name == "region"
    r = engine.forward(AddressQuery(street="Aleksanterinkatu", housenumber="4"))
    assert r is not None and r.source == "region"
    assert engine.forward_many([AddressQuery(text="Aleksanterinkatu 4"), AddressQuery()]) == [
        r, None]


# -- grades ---------------------------------------------------------------------------------

def test_exact_house_number(geo: RegionGeocoder) -> None:
    r = ask(geo, street="Aleksanterinkatu", housenumber="2", city="Helsinki")
    assert r is not None and r.confidence is Confidence.EXACT
    assert metres(r, towns.ALEKS_2) < 1
    assert r.address["street"] == "Aleksanterinkatu" and r.address["housenumber"] == "2"
    assert r.label == "Aleksanterinkatu 2, 00100 Helsinki"


def test_a_building_stands_for_its_address(geo: RegionGeocoder) -> None:
    """Mannerheimintie 1 is a building outline: its centre, not a corner."""
    r = ask(geo, "Mannerheimintie 1, Helsinki")
    assert r is not None and r.confidence is Confidence.EXACT
    assert metres(r, towns.MANNER_1) < 2


def test_interpolated_between_numbers_of_the_same_side(geo: RegionGeocoder) -> None:
    """6 lies between 4 and 10 on the even side: a third of the way from 4."""
    r = ask(geo, street="Aleksanterinkatu", housenumber="6", city="Helsinki")
    assert r is not None and r.confidence is Confidence.INTERPOLATED
    lat, lon = towns.ALEKS_4[0], towns.ALEKS_4[1] + (towns.ALEKS_10[1] - towns.ALEKS_4[1]) / 3
    assert metres(r, (lat, lon)) < 5


def test_interpolated_on_an_interpolation_line(geo: RegionGeocoder) -> None:
    """Koulukatu 1 … 9 (odd) is an addr:interpolation way: 5 is half way along it."""
    r = ask(geo, "Koulukatu 5, 00170 Helsinki")
    assert r is not None and r.confidence is Confidence.INTERPOLATED
    (la0, lo0), (_, lo1) = towns.KOULU_HKI
    assert metres(r, (la0, (lo0 + lo1) / 2)) < 3
    assert r.label == "Koulukatu 5, 00170 Helsinki"
    # an even number is not on an odd line
    r = ask(geo, "Koulukatu 4, Helsinki")
    assert r is not None and r.confidence is Confidence.STREET


def test_number_not_on_the_street_is_street_grade(geo: RegionGeocoder) -> None:
    r = ask(geo, street="Aleksanterinkatu", housenumber="200", city="Helsinki")
    assert r is not None and r.confidence is Confidence.STREET
    assert "housenumber" not in r.address
    # no number at all: the street
    r = ask(geo, "Aleksanterinkatu, Helsinki")
    assert r is not None and r.confidence is Confidence.STREET
    assert 60.1685 < r.lat < 60.1695


def test_postcode_grade(geo: RegionGeocoder) -> None:
    """An unknown street with a known postcode: the postcode's centre."""
    r = ask(geo, street="Olematonkuja", housenumber="3", postcode="00100", city="Helsinki")
    assert r is not None and r.confidence is Confidence.POSTCODE
    assert metres(r, towns.ALEKS_3) < 200
    assert r.address["postcode"] == "00100" and r.label == "00100 Helsinki"


def test_locality_grade(geo: RegionGeocoder) -> None:
    for q in (AddressQuery(text="Olematonkuja 3, Espoo"), AddressQuery(city="Esbo")):
        r = geo.forward(q)
        assert r is not None and r.confidence is Confidence.LOCALITY
        assert metres(r, towns.ESPOO) < 1
    r = ask(geo, city="Kamppi")
    assert r is not None and r.confidence is Confidence.LOCALITY and r.label == "Kamppi"


def test_grades_are_ordered() -> None:
    assert [c.rank for c in Confidence] == [0, 1, 2, 3, 4]
    assert Confidence.EXACT.rank < Confidence.LOCALITY.rank


# -- tolerant matching ----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "ALEKSANTERINKATU 4", "aleksanterinkatu 4, helsinki", "Aleksanterink. 4",
    "Aleksanterin katu 4", "Alexandersgatan 4, Helsingfors", "Alexandersg. 4",
    "Aleksanterinkatu 4 B 12, 00100 Helsinki", "Aleksanterinkatu 4, 00100 HELSINKI, Finland",
    "Aleksanterinkaty 4, Helsinki",  # a typo: one letter off in a long name
])
def test_finnish_and_swedish_spellings(geo: RegionGeocoder, text: str) -> None:
    r = ask(geo, text)
    assert r is not None and r.confidence.rank <= Confidence.INTERPOLATED.rank, text
    assert metres(r, towns.ALEKS_4) < 5, text


def test_accents_either_way(geo: RegionGeocoder) -> None:
    for text in ("Hämeentie 7", "Hameentie 7", "HÄMEENTIE 7", "Haemeentie 7"):
        r = ask(geo, text)
        assert r is not None and r.confidence is Confidence.EXACT, text
    assert street_keys("Hämeentie")[0] == street_keys("HAMEENTIE")[0]


@pytest.mark.parametrize("text", [
    "Hauptstraße 5, Musterstadt", "Hauptstrasse 5", "Hauptstr. 5, 55116 Musterstadt",
    "Haupt-Straße 5", "haupt strasse 5",
])
def test_german_abbreviations(geo: RegionGeocoder, text: str) -> None:
    r = ask(geo, text)
    assert r is not None and r.confidence is Confidence.EXACT, text
    assert metres(r, towns.HAUPT_5) < 1


@pytest.mark.parametrize("text", [
    "12 Main Street, Springfield", "12 Main St, Springfield", "12 main st.", "Main St 12",
])
def test_english_abbreviations(geo: RegionGeocoder, text: str) -> None:
    r = ask(geo, text)
    assert r is not None and r.confidence is Confidence.EXACT, text
    assert metres(r, towns.MAIN_12) < 1
    assert r.label == "12 Main Street, 15001 Springfield"  # the number first, as written there


def test_street_keys_expand_abbreviations() -> None:
    assert "mannerheiminkatu" in street_keys("Mannerheimink.")
    assert "hauptstrasse" in street_keys("Hauptstr.")
    assert "mainstreet" in street_keys("Main St") and "mainroad" in street_keys("Main Rd")
    assert "avinguda" + "meritxell" in street_keys("Av. Meritxell")
    assert "fifthavenue" in street_keys("Fifth Ave")
    assert street_keys("") == ()
    assert fold("ＡＢＣ　１２") == "abc 12"  # full width to ASCII, one space


def test_a_former_name_yields_to_a_street_that_has_it_now(tmp_path: Path) -> None:
    """Uusikatu was once called Vanhakatu, and another street is Vanhakatu today."""
    t = towns.Town()
    t.node(60.0, 24.0, place="town", name="Kylä")
    t.way([(60.0, 24.0), (60.0, 24.004)], highway="residential", name="Uusikatu",
          old_name="Vanhakatu")
    t.way([(60.003, 24.0), (60.003, 24.004)], highway="residential", name="Vanhakatu")
    t.way([(60.006, 24.0), (60.006, 24.004)], highway="residential", name="Kolmaskatu",
          old_name="Neljäskatu")
    g = RegionGeocoder(read_addresses(t.write(tmp_path / "names.osm")))
    r = g.forward(AddressQuery(text="Vanhakatu, Kylä"))
    assert r is not None and r.address["street"] == "Vanhakatu" and r.lat > 60.002
    r = g.forward(AddressQuery(text="Neljäskatu, Kylä"))  # no street has it now: the old one
    assert r is not None and r.address["street"] == "Kolmaskatu"


def test_structured_fields_win_over_text(geo: RegionGeocoder) -> None:
    r = geo.forward(AddressQuery(text="Hämeentie 7", street="Aleksanterinkatu", housenumber="2"))
    assert r is not None and metres(r, towns.ALEKS_2) < 1


# -- contradictions and namesakes -----------------------------------------------------------

def test_a_city_that_contradicts_the_street_is_never_confident(geo: RegionGeocoder) -> None:
    """Aleksanterinkatu exists only in Helsinki: asked in Espoo, the answer is Espoo."""
    r = ask(geo, street="Aleksanterinkatu", housenumber="4", city="Espoo")
    assert r is not None and r.confidence is Confidence.LOCALITY
    assert metres(r, towns.ESPOO) < 1


def test_a_city_the_region_does_not_have_is_refused(geo: RegionGeocoder) -> None:
    assert ask(geo, street="Aleksanterinkatu", housenumber="4", city="Tampere") is None
    assert ask(geo, "Aleksanterinkatu 4, Tampere") is None


def test_a_namesake_in_two_towns_needs_the_town(geo: RegionGeocoder) -> None:
    """Koulukatu 5 is in Helsinki (interpolated) and in Espoo (a point): without a town,
    no answer; the town, its Swedish name or the postcode picks one."""
    assert ask(geo, "Koulukatu 5") is None
    for q in (AddressQuery(text="Koulukatu 5, Espoo"), AddressQuery(text="Koulukatu 5, Esbo"),
              AddressQuery(street="Koulukatu", housenumber="5", postcode="02100")):
        r = geo.forward(q)
        assert r is not None and r.confidence is Confidence.EXACT, q
        assert metres(r, towns.KOULU_ESPOO_5) < 1
    r = ask(geo, "Koulukatu 5, Helsingfors")
    assert r is not None and r.confidence is Confidence.INTERPOLATED
    assert r.lon > 24.9


def test_a_postcode_that_contradicts_is_not_confident(geo: RegionGeocoder) -> None:
    """Hämeentie 7 is 00530; with Espoo's 02100 and no city, not the Helsinki house."""
    r = ask(geo, street="Hämeentie", housenumber="7", postcode="02100")
    assert r is None or r.confidence.rank >= Confidence.POSTCODE.rank
    # a postcode typo next to the right city keeps the house
    r = ask(geo, street="Hämeentie", housenumber="7", postcode="00531", city="Helsinki")
    assert r is not None and r.confidence is Confidence.EXACT


def test_nothing_to_find(geo: RegionGeocoder) -> None:
    assert geo.forward(AddressQuery()) is None
    assert geo.forward(AddressQuery(text="   ", building="Floor 2")) is None
    assert ask(geo, "Nowhere Lane 5, Atlantis") is None


def test_leave_one_out(geo: RegionGeocoder) -> None:
    """Without its own entry, Aleksanterinkatu 2 is not exact any more; 4 keeps its entrance."""
    ix = geo.index
    two = next(i for i, f in enumerate(ix.fields) if f.get("housenumber") == "2")
    with geo.excluding([two]):
        r = ask(geo, street="Aleksanterinkatu", housenumber="2", city="Helsinki")
        assert r is not None and r.confidence is not Confidence.EXACT
    r = ask(geo, street="Aleksanterinkatu", housenumber="2", city="Helsinki")
    assert r is not None and r.confidence is Confidence.EXACT
    fours = [i for i, f in enumerate(ix.fields) if f.get("housenumber") == "4"
             and f.get("street") == "Aleksanterinkatu"]
    assert len(fours) == 2
    with geo.excluding(fours[:1]):
        r = ask(geo, street="Aleksanterinkatu", housenumber="4")
        assert r is not None and r.confidence is Confidence.EXACT
        assert metres(r, towns.ALEKS_4) < 10  # its entrance, 6 m from the shop


# -- reverse --------------------------------------------------------------------------------

def test_reverse_names_the_nearest_address(geo: RegionGeocoder) -> None:
    lat, lon = towns.ALEKS_10
    r = geo.reverse(lon + 0.0001, lat)  # ~6 m east
    assert r is not None and r.confidence is Confidence.EXACT
    assert r.address["street"] == "Aleksanterinkatu" and r.address["housenumber"] == "10"
    assert r.address["city"] == "Helsinki"
    assert r.label == "Aleksanterinkatu 10, 00100 Helsinki"


def test_reverse_on_a_street_without_addresses_nearby(geo: RegionGeocoder) -> None:
    r = geo.reverse(24.9490, 60.16915)  # Aleksanterinkatu's east end, 220 m past number 10
    assert r is not None and r.confidence is Confidence.STREET
    assert r.address["street"] == "Aleksanterinkatu" and r.address.get("city") == "Helsinki"
    assert abs(r.lat - 60.1690) < 0.0001


def test_reverse_far_from_everything(geo: RegionGeocoder) -> None:
    assert geo.reverse(0.0, 0.0) is None
    assert geo.reverse(math.nan, 60.0) is None
    r = geo.reverse(24.90, 60.18)  # 2-3 km from Helsinki's centre, no street within 300 m
    assert r is not None and r.confidence is Confidence.LOCALITY and r.label == "Helsinki"


# -- parsing and the index file -------------------------------------------------------------

def test_parse_western_text() -> None:
    p = parse_text("Kaivopiha, Mannerheimintie 12 B 5, 00100 Helsinki", "FI")
    assert ("mannerheimintie", "12 b") in p.streets and p.postcode == "00100"
    assert p.localities == ["kaivopiha", "helsinki"]
    assert number_key("12 B") == "12b" and number_key("2, 2. krs") == "2"


def test_index_round_trip_and_atomic_replace(geo: RegionGeocoder, tmp_path: Path) -> None:
    target = save_addresses(geo.index, tmp_path / "region" / "addresses.npz")
    again = load_addresses(target)
    assert again.fields == geo.index.fields and again.meta == geo.index.meta
    assert np.array_equal(again.lon, geo.index.lon)
    assert again.street_names == geo.index.street_names
    r = RegionGeocoder(again).forward(AddressQuery(text="Koulukatu 5, Espoo"))
    assert r is not None and metres(r, towns.KOULU_ESPOO_5) < 1
    save_addresses(again, target)  # over the old one: no temporary file left behind
    assert sorted(p.name for p in target.parent.iterdir()) == ["addresses.npz"]


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(RegionError, match="no such file"):
        read_addresses(tmp_path / "missing.osm.pbf")
    junk = tmp_path / "junk.osm"
    junk.write_text("this is not xml")
    with pytest.raises(RegionError, match="junk.osm"):
        read_addresses(junk)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"nope")
    with pytest.raises(RegionError, match="bad.npz"):
        load_addresses(bad)


def test_an_extract_without_addresses_still_answers_streets(tmp_path: Path) -> None:
    t = towns.Town()
    t.node(60.0, 24.0, place="village", name="Kylä")
    t.way([(60.0, 24.0), (60.0, 24.002)], highway="residential", name="Kyläkuja")
    g = RegionGeocoder(read_addresses(t.write(tmp_path / "v.osm")))
    r = g.forward(AddressQuery(text="Kyläkuja 3, Kylä"))
    assert r is not None and r.confidence is Confidence.STREET
    assert g.reverse(24.001, 60.0001) is not None
