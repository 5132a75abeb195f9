"""`flask region load` builds the region's address index beside its roads (issue 14).

The index is one file replaced with the rest of the region: a good load makes the new
addresses answer, a bad extract leaves the previous index exactly as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from geocrm.core.geocoding import addresses_path
from places.geocode import AddressQuery, Confidence, RegionGeocoder, load_addresses
from tests.places.geocode import osm_towns as towns


@pytest.fixture
def instance(app: Flask, tmp_path: Path) -> Path:
    """The app's instance folder moved to a temporary one (no region loaded)."""
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    return Path(app.instance_path)


def test_region_load_builds_the_address_index(app: Flask, instance: Path,
                                              tmp_path: Path) -> None:
    extract = towns.finnish_towns(tmp_path / "towns.osm", abroad=False)
    out = app.test_cli_runner().invoke(args=["region", "load", str(extract)])
    assert out.exit_code == 0, out.output
    assert "Addresses: 11 addresses, 5 streets, 1 interpolation lines, 3 places" in out.output
    with app.app_context():
        path = addresses_path()
    assert path == instance / "region" / "addresses.npz"
    index = load_addresses(path)
    assert index.meta["file"] == "towns.osm"
    r = RegionGeocoder(index).forward(AddressQuery(text="Aleksanterinkatu 4, Helsinki"))
    assert r is not None and r.confidence is Confidence.EXACT

    before = path.read_bytes()
    junk = tmp_path / "junk.osm"
    junk.write_text("<osm><node id='1'")
    out = app.test_cli_runner().invoke(args=["region", "load", str(junk)])
    assert out.exit_code != 0 and "junk.osm" in out.output
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []
