"""Territory files: GeoPackage layers, the CRS field for every format, name-column advice,
accounts left outside every territory (both engines; real Korean boundaries when present)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import select

from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Territory
from geocrm.territory_admin import transfer
from geocrm.territory_admin.notes import english, english_all
from tests.factories import make_account
from tests.shared_data import shared_data

KR = shared_data("kr-jp", "kr_boundaries")
MUNICIPALITIES = KR / "skorea_municipalities_geo_simple.json"


def _gpkg(tmp_path: Path, layers: dict[str, gpd.GeoDataFrame]) -> bytes:
    path = tmp_path / "areas.gpkg"
    for name, frame in layers.items():
        frame.to_file(path, layer=name, engine="pyogrio")
    return path.read_bytes()


def _two_layers(tmp_path: Path) -> bytes:
    districts = gpd.GeoDataFrame(
        {"name": ["North", "South"]},
        geometry=[shapely.box(25.30, 60.32, 25.34, 60.34),
                  shapely.box(25.30, 60.30, 25.34, 60.32)], crs="EPSG:4326")
    zones = gpd.GeoDataFrame({"name": ["Zone Z"]},
                             geometry=[shapely.box(25.40, 60.30, 25.44, 60.34)], crs="EPSG:4326")
    return _gpkg(tmp_path, {"districts": districts, "zones": zones})


def test_a_multi_layer_geopackage_says_so_and_each_layer_or_all_can_be_picked(world, tmp_path):
    """Was: only the first layer, silently. Now the preview lists the layers and reads the one
    picked, or all of them as one set; apply imports exactly the picked layer."""
    token = transfer.save_upload("areas.gpkg", _two_layers(tmp_path), world.admin)
    first = transfer.preview_import(token, world.admin)
    assert first.layers == [("districts", 2), ("zones", 1)] and first.layer == "districts"
    head = english(first.notes[0])
    assert "2 polygon layers" in head and "'zones' (1 features)" in head
    zones = transfer.preview_import(token, world.admin, layer="zones")
    assert [f.name for f in zones.features] == ["Zone Z"]
    every = transfer.preview_import(token, world.admin, layer="*")
    assert sorted(f.name for f in every.features) == ["North", "South", "Zone Z"]
    with pytest.raises(ValidationError, match="no polygon layer 'roads'"):
        transfer.preview_import(token, world.admin, layer="roads")
    transfer.apply_import(token, world.admin, layer="zones")
    db.session.commit()
    names = set(db.session.scalars(select(Territory.name)))
    assert "Zone Z" in names and "North" not in names


def test_the_crs_field_applies_to_geojson_too(world):
    """Was ignored for GeoJSON: an old export in PA State Plane feet is read in the CRS given."""
    body = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Downtown"},
        "geometry": mapping(shapely.box(1_338_000, 410_000, 1_342_000, 414_000))}]}
    token = transfer.save_upload("feet.geojson", json.dumps(body).encode(), world.admin)
    with pytest.raises(ValidationError, match="the CRS is wrong"):
        transfer.preview_import(token, world.admin)
    preview = transfer.preview_import(token, world.admin, assume_crs="EPSG:2272")
    minx, miny, maxx, maxy = preview.features[0].geometry.bounds
    assert -80.05 < minx < maxx < -79.95 and 40.40 < miny < maxy < 40.47


def test_the_crs_field_overrides_a_declared_crs_with_a_note(world, tmp_path):
    """A GeoPackage declaring the wrong CRS is read in the one the user states, and told so."""
    wrong = gpd.GeoDataFrame({"name": ["Downtown"]},
                             geometry=[shapely.box(1_338_000, 410_000, 1_342_000, 414_000)],
                             crs="EPSG:3857")
    token = transfer.save_upload("a.gpkg", _gpkg(tmp_path, {"a": wrong}), world.admin)
    preview = transfer.preview_import(token, world.admin, assume_crs="EPSG:2272")
    assert any("declares EPSG:3857; read as EPSG:2272" in n for n in english_all(preview.notes))
    assert -80.05 < preview.features[0].geometry.bounds[0] < -79.95


def test_a_name_column_that_repeats_suggests_the_unique_one(world):
    """Two features named 'Jungang-dong': the error names the column that is unique ('code')."""
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "중앙동", "code": c},
         "geometry": mapping(shapely.box(x, 60.3, x + 0.01, 60.31))}
        for c, x in (("2611051", 25.3), ("2711052", 25.4))]}
    token = transfer.save_upload("dong.geojson", json.dumps(body).encode(), world.admin)
    with pytest.raises(ValidationError) as err:
        transfer.preview_import(token, world.admin)
    assert err.value.row == 2 and "also in row 1" in err.value.reason
    assert "column 'code' names every feature once" in err.value.reason
    assert len(transfer.preview_import(token, world.admin, name_column="code").features) == 2


def test_preview_and_the_page_after_apply_list_accounts_outside_every_territory(
        client, auth, world):
    """Replacing West with a smaller square leaves its accounts outside: listed before and after."""
    out = make_account("Pois rajalta", 60.19, 24.91)  # in West today, outside the new West
    db.session.commit()
    body = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": world.west.name},
        "geometry": mapping(shapely.box(24.935, 60.15, 24.95, 60.165))}]}
    auth.login("admin@example.com")
    r = client.post("/territories/import", data={"file": (io.BytesIO(json.dumps(body).encode()),
                                                          "west.geojson")},
                    content_type="multipart/form-data")
    url = r.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "would fall outside every territory" in page and "Pois rajalta" in page
    assert world.unassigned.name in page  # outside before too: still listed
    token = url.rstrip("/").split("/")[-1]
    done = client.post(f"/territories/import/{token}/apply", data={"name_column": "name"})
    assert done.status_code == 302 and "/territories/import/done/" in done.headers["Location"]
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "fall outside every territory" in html and "Pois rajalta" in html
    assert f"/accounts/{out.id}" in html


@pytest.mark.skipif(not MUNICIPALITIES.exists(), reason="shared data absent")
def test_real_korean_boundaries_layers_and_names(world, tmp_path):
    """KOSTAT 시군구: names repeat across cities (중구, 동구 …) so 'code' is suggested; a
    GeoPackage of Seoul and Busan layers imports only the layer picked."""
    token = transfer.save_upload("kr.json", MUNICIPALITIES.read_bytes(), world.admin)
    with pytest.raises(ValidationError) as err:
        transfer.preview_import(token, world.admin)
    assert "column 'code' names every feature once" in err.value.reason
    frame = gpd.read_file(MUNICIPALITIES, engine="pyogrio")
    seoul = frame[frame["code"].str.startswith("11")]
    busan = frame[frame["code"].str.startswith("21")]
    assert len(seoul) == 25
    data = _gpkg(tmp_path, {"seoul": seoul, "busan": busan})
    inside = make_account("롯데월드타워", 37.5126, 127.1025)  # well inside 송파구
    away = make_account("부산역", 35.1151, 129.0415)
    db.session.commit()
    token = transfer.save_upload("kr.gpkg", data, world.admin)
    preview = transfer.preview_import(token, world.admin)
    assert [n for n, _ in preview.layers] == ["seoul", "busan"] and len(preview.features) == 25
    assert (away.id, "부산역") in preview.outside and inside.id not in {
        i for i, _ in preview.outside}
    transfer.apply_import(token, world.admin, layer="seoul")
    db.session.commit()
    db.session.expire_all()
    assert inside.territory_id is not None
    assert db.session.get(Territory, inside.territory_id).name == "송파구"
    count, outside = transfer.accounts_outside(world.admin)
    assert (away.id, "부산역") in outside and count >= 2


def test_the_page_offers_the_layers_even_when_the_first_cannot_be_read(client, auth, world,
                                                                        tmp_path):
    """A first layer with repeated names: the error page still offers the other layers."""
    bad = gpd.GeoDataFrame({"name": ["Same", "Same"]},
                           geometry=[shapely.box(25.30, 60.30, 25.31, 60.31),
                                     shapely.box(25.32, 60.30, 25.33, 60.31)], crs="EPSG:4326")
    good = gpd.GeoDataFrame({"name": ["Good"]}, geometry=[shapely.box(25.40, 60.30, 25.41, 60.31)],
                            crs="EPSG:4326")
    auth.login("admin@example.com")
    r = client.post("/territories/import", data={
        "file": (io.BytesIO(_gpkg(tmp_path, {"bad": bad, "good": good})), "two.gpkg")},
        content_type="multipart/form-data")
    url = r.headers["Location"]
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "&#39;Same&#39; is also in row 1" in html
    assert '<option value="good"' in html and "All layers, as one set" in html
    chosen = client.get(url + "?layer=good").get_data(as_text=True)
    assert "Only layer <strong>good</strong> is shown" in chosen and ">Good<" in chosen


def test_a_large_territory_import_as_a_job_reports_the_accounts_outside(app, client, auth,
                                                                        world):
    """Past the job threshold, the job's page says how many accounts fall outside and links
    to the list."""
    from geocrm.jobs import drain

    app.config["GEOCRM_TERRITORY_JOB_ACCOUNTS"] = 0
    body = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": world.west.name},
        "geometry": mapping(shapely.box(24.935, 60.15, 24.95, 60.165))}]}
    auth.login("admin@example.com")
    r = client.post("/territories/import", data={"file": (io.BytesIO(json.dumps(body).encode()),
                                                          "west.geojson")},
                    content_type="multipart/form-data")
    token = r.headers["Location"].rstrip("/").split("/")[-1]
    applied = client.post(f"/territories/import/{token}/apply", data={"name_column": "name"})
    assert "/territories/jobs/" in applied.headers["Location"]
    drain(app, timeout=60)
    page = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert 'data-status="done"' in page, page
    assert "fall outside every territory" in page and "/territories/import/done/" in page
