"""A small town of OpenStreetMap places over the test world (West: lon 24.90-24.95, East:
24.95-25.00, lat 60.15-60.20), written as .osm XML, and the accounts that already know some of
them, in Latin, Korean and Japanese script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from geocrm.core.region_places import pois_path
from geocrm.extensions import db
from geocrm.models import Stage
from places.poi import read_pois, save_pois
from tests.factories import World, make_account
from tests.places.osm_writer import square, write_osm

CAFE = {"amenity": "cafe"}
BAKERY = {"shop": "bakery"}


def town(version: int = 1) -> tuple[list[Any], list[Any]]:
    """The places (nodes, ways) of the first or the second version of the town."""
    nodes = [
        (1, 60.16002, 24.91003, {**CAFE, "name": "KAHVILA AALTO"}),  # a hand-made account
        (2, 60.16500, 24.91500, {**CAFE, "name": "Café Ékta"}),  # CAFE EKTA OY, Latin
        (3, 60.18000, 24.96000, {**BAKERY, "name": "㈜파리바게뜨"}),  # (주)파리바게뜨, Korean
        (4, 60.17000, 24.92000, {**CAFE, "name": "カフェ ルノアール"}),  # ｶﾌｪ ﾙﾉｱｰﾙ, Japanese
        (5, 60.19000, 24.99000, {**BAKERY, "name": "Vanha leipomo"}),  # osm account node/5
        (6, 60.16030, 24.91060, {**CAFE, "name": "Kahvila Uusi", "opening_hours":
                                 "Mo-Fr 08:00-16:00", "phone": "+358 9 555 0101",
                                 "addr:street": "Mannerheimintie", "addr:housenumber": "3",
                                 "addr:postcode": "00100", "addr:city": "Helsinki"}),
        (7, 60.18900, 24.98200, {**BAKERY, "name": "Leipomo Itä"}),
        (8, 60.17500, 24.93500, {"office": "company", "name": "Toimisto Oy"}),
        (9, 60.19800, 24.94800, {**CAFE, "name": "Kaukainen kahvila"}),
        (10, 60.18500, 24.97500, {**BAKERY, "name": "뚜레쥬르", "name:ko": "뚜레쥬르",
                                  "name:en": "Tous les Jours"}),
        (11, 60.16700, 24.93000, {**CAFE, "name": "喫茶 山", "opening_hours": "毎日 9時から"}),
        *square(100, 60.17200, 24.94000),
        (200, 60.1550, 24.9050, {}), (201, 60.1950, 24.9950, {}), (202, 60.1550, 24.9950, {}),
    ]
    ways = [(500, [100, 101, 102, 103, 100], {**CAFE, "name": "Kahvila Talo"}),
            (600, [200, 202, 201], {"highway": "residential", "name": "Katu"})]
    if version == 2:
        nodes = [n for n in nodes if n[0] != 7]  # Leipomo Itä closed
        nodes = [(6, 60.1603, 24.9106, {**CAFE, "name": "Kahvila Uusi Helsinki",
                                      "opening_hours": "Mo-Sa 07:00-18:00",
                                      "addr:street": "Mannerheimintie",
                                      "addr:housenumber": "5", "addr:city": "Helsinki"})
                 if n[0] == 6 else n for n in nodes]
        nodes = [(9, 60.198, 24.948, {**CAFE, "name": "Kaukainen kahvila 2",
                                      "opening_hours": "24/7"}) if n[0] == 9 else n
                 for n in nodes]
    return nodes, ways


def load_town(app: Flask, tmp_path: Path, version: int = 1) -> Path:
    """Write the town and save its places index where the app reads it."""
    nodes, ways = town(version)
    extract = write_osm(tmp_path / f"town{version}.osm", nodes, ways,
                        timestamp=f"2026-0{version}-01T00:00:00Z")
    with app.app_context():
        save_pois(read_pois(extract), pois_path())
    return extract


def known_accounts(world: World) -> None:
    """Customers with categories, and accounts that already are some of the town's places."""
    world.west_accounts[0].category = "cafe"  # Kahvila Aalto, a customer at 60.16, 24.91
    world.east_accounts[1].category = "bakery"  # a customer at 60.19, 24.98
    make_account("CAFE EKTA OY", 60.16505, 24.91505, stage=Stage.LEAD,
                 territory_id=world.west.id)
    make_account("(주)파리바게뜨", 60.18010, 24.96010, stage=Stage.LEAD,
                 territory_id=world.east.id)
    make_account("ｶﾌｪ ﾙﾉｱｰﾙ", 60.17010, 24.92010, stage=Stage.LEAD,
                 territory_id=world.west.id)
    make_account("Old bakery name", 60.195, 24.995, stage=Stage.LEAD, source="osm",
                 external_id="node/5", territory_id=world.east.id)
    db.session.commit()
