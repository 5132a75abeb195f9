"""A territory file with more polygons than a territory import takes is refused from its
metadata, before any geometry is read (issue 18: 40,000 polygons took 60 s and 213 MB to
preview)."""

from __future__ import annotations

import io
import json

import pytest

from geocrm.territory_admin import transfer

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])


def _squares(n: int) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"T{k}"}, "geometry": {
            "type": "Polygon", "coordinates": [[[24.9 + k * 1e-3, 60.1], [24.9 + k * 1e-3 + 5e-4,
                                                 60.1], [24.9 + k * 1e-3, 60.1005],
                                                [24.9 + k * 1e-3, 60.1]]]}}
        for k in range(n)]}).encode()


def test_too_many_polygons_are_refused_naming_the_limit(client, auth, world, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_IMPORT_FEATURES", 3)
    read = []
    monkeypatch.setattr(transfer, "read_file", lambda *a, **k: read.append(1))
    auth.login("manager@example.com")
    r = client.post("/territories/import", data={"file": (io.BytesIO(_squares(4)), "t.geojson")},
                    content_type="multipart/form-data")
    page = client.get(r.location)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "has 4 polygons" in text and "at most 3" in text
    assert read == []  # refused before the geometries were read
    monkeypatch.undo()
    monkeypatch.setattr(transfer, "MAX_IMPORT_FEATURES", 4)
    assert client.get(r.location).status_code == 200
