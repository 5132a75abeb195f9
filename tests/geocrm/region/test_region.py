"""The region in the app: `flask region load`, and the one travel provider every plan uses."""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import routing
from geocrm import jobs
from geocrm.clock import local_today
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import PlanStatus, RoutePlan, RouteStop, utcnow
from geocrm.models.planning import JobStatus, PlanRun
from geocrm.planning import services
from geocrm.planning.page_data import decode_line
from geocrm.region.services import demo_extract, region_info, road_router, roads_path
from geocrm.region.travel import (
    RegionRoads,
    StraightLine,
    ValhallaRoads,
    route_legs,
    travel_notes,
    travel_provider,
    workload_model,
)
from tests.conftest import AuthActions
from tests.factories import World, make_account
from tests.routing.test_osrm_route import _Fake, fake  # noqa: F401 (the fake server fixture)
from tests.routing.test_valhalla import _Valhalla, valhalla  # noqa: F401 (the fake Valhalla)

TOWN = Path(__file__).parents[2] / "places" / "fixtures" / "river_town.osm"
FRIDAY = date(2026, 5, 15)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "GEOCRM_TIMEZONE": "Europe/Helsinki", "GEOCRM_PLAN_TIME_LIMIT": 0.5,
            "GEOCRM_TRAVEL": ""}


@pytest.fixture
def instance(app: Flask, tmp_path: Path) -> Path:
    """The app's instance folder moved to a temporary one (no region loaded)."""
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    return Path(app.instance_path)


def test_region_load_prints_what_it_built_and_replaces_atomically(
        app: Flask, instance: Path, tmp_path: Path) -> None:
    """Load, load a newer extract over it (replaced whole), a bad file leaves the region as is."""
    runner = app.test_cli_runner()
    out = runner.invoke(args=["region", "load", str(TOWN)])
    assert out.exit_code == 0, out.output
    assert "Loaded region river_town from river_town.osm" in out.output
    assert "4 drivable ways" in out.output and "14 directed edges" in out.output
    assert region_info()["ways"] == 4

    newer = tmp_path / "river_town_2025.osm"
    text = TOWN.read_text().replace(
        '<tag k="highway" v="footway"/><tag k="bridge" v="yes"/>',
        '<tag k="highway" v="residential"/><tag k="bridge" v="yes"/>')  # the footbridge opens
    newer.write_text(text)
    out = runner.invoke(args=["region", "load", str(newer), "--name", "River town"])
    assert out.exit_code == 0, out.output
    info = region_info()
    assert info["name"] == "River town" and info["ways"] == 5 and info["edges"] == 16
    assert sorted(p.name for p in roads_path().parent.iterdir()) == [
        "addresses.npz", "basemap.pmtiles", "places.npz", "roads.json", "roads.npz"]

    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"\x00garbage")
    out = runner.invoke(args=["region", "load", str(bad)])
    assert out.exit_code != 0 and "broken.osm.pbf" in out.output
    assert region_info()["name"] == "River town"

    out = runner.invoke(args=["region", "load", "--demo", "--if-missing"])
    assert out.exit_code == 0 and "already loaded; left as it is" in out.output
    assert region_info()["name"] == "River town"
    out = runner.invoke(args=["region", "load"])
    assert out.exit_code != 0 and "EXTRACT file or --demo" in out.output


def test_provider_follows_the_setting(app: Flask, instance: Path) -> None:
    """Nothing loaded: straight line with its note; a region: its roads; osrm needs a URL."""
    provider = travel_provider()
    assert isinstance(provider, StraightLine)
    here = [places_loc(60.0, 24.0), places_loc(60.002, 24.004)]
    assert "straight-line estimate" in provider.matrices(here, 30).warnings[0]
    app.test_cli_runner().invoke(args=["region", "load", str(TOWN)])
    provider = travel_provider()
    assert isinstance(provider, RegionRoads)
    m = provider.matrices(here, 30)
    assert m.warnings == [] and m.travel_s[0, 1] == round(road_router().matrix(
        [(60.0, 24.0), (60.002, 24.004)]).seconds[0, 1])
    app.config["GEOCRM_TRAVEL"] = "straight"
    assert isinstance(travel_provider(), StraightLine)
    app.config["GEOCRM_TRAVEL"] = "osrm"
    with pytest.raises(ValidationError, match="GEOCRM_OSRM_URL"):
        travel_provider()
    app.config["GEOCRM_TRAVEL"] = "graphhopper"
    with pytest.raises(ValidationError, match="GEOCRM_TRAVEL"):
        travel_provider()


def test_valhalla_setting_plans_on_the_server_and_draws_its_lines(
        app: Flask, valhalla: str) -> None:  # noqa: F811
    """GEOCRM_TRAVEL=valhalla: the matrices (slowed for a bike) and the route lines come from
    the (fake) Valhalla server; without GEOCRM_VALHALLA_URL it is refused naming the setting."""
    app.config.update(GEOCRM_TRAVEL="valhalla", GEOCRM_VALHALLA_URL="")
    with pytest.raises(ValidationError, match="GEOCRM_VALHALLA_URL"):
        travel_provider()
    app.config["GEOCRM_VALHALLA_URL"] = valhalla
    provider = travel_provider()
    assert isinstance(provider, ValhallaRoads) and provider.base_url == valhalla
    stops = [places_loc(60.0, 24.9), places_loc(60.001, 24.902), places_loc(60.002, 24.904)]
    car = provider.matrices(stops, 50)
    assert car.travel_s[0, 1] == 60 and car.distance_m[0, 1] == 900 and car.warnings == []
    assert provider.matrices(stops, 9).travel_s[0, 1] == 360  # 900 m at 9 km/h, not 60 s
    legs = route_legs(stops, 50)
    assert [(leg["s"], leg["m"]) for leg in legs] == [(60, 400), (60, 400)]
    assert legs[0]["line"] == [[60.0, 24.9], [60.0, 24.902], [60.001, 24.902]]
    assert [path for path, _ in _Valhalla.calls][-1] == "/route"
    _Valhalla.answer = "500"
    assert route_legs(stops, 50) == []  # the map draws straight lines
    down = provider.matrices(stops, 50).warnings
    assert travel_notes(down) == down and "unavailable" in down[0]


def places_loc(lat: float, lon: float) -> routing.Location:
    return routing.Location(lat, lon)


def _plan(world: World, **kw: Any) -> PlanRun:
    req = services.PlanRequest(rep_ids=(world.rep_west.id,), start=FRIDAY, end=FRIDAY, **kw)
    run = services.start_run(world.planner, req)
    job = jobs.wait_for_job(run.job_id, timeout=60)
    assert job.status == JobStatus.DONE, job.error
    db.session.expire_all()
    return db.session.get(PlanRun, run.id)


def test_plans_drive_on_the_region_roads(app: Flask, instance: Path, world: World,
                                         client: FlaskClient, auth: AuthActions) -> None:
    """With the demo region loaded, the plan's legs are road times, the map draws them along the
    streets (the road nodes between the stops), and no note says straight-line."""
    shutil.copy(demo_extract(), instance / "helsinki.osm.pbf")
    assert app.test_cli_runner().invoke(
        args=["region", "load", str(instance / "helsinki.osm.pbf")]).exit_code == 0
    world.rep_west.home_lat, world.rep_west.home_lon = 60.1700, 24.9400
    shop = make_account("Kauppatori kiosk", 60.1675, 24.9520, territory_id=world.west.id)
    db.session.commit()
    run = _plan(world, account_ids=(shop.id,))
    plan = next(p for p in run.plans if p.rep_id == world.rep_west.id)
    (stop,) = [s for s in plan.stops if s.account_id == shop.id]
    road = road_router().matrix([(60.17, 24.94), (60.1675, 24.952)])
    assert stop.travel_s == round(road.seconds[0, 1])
    auth.login(world.planner.email)
    page = client.get(f"/planning/runs/{run.id}").get_data(as_text=True)
    assert "Kauppatori kiosk" in page and "straight-line estimate" not in page
    there, back = plan.params["legs"]
    assert plan.params["legs_for"] == [shop.id]
    assert there["s"] == pytest.approx(stop.travel_s, abs=1)
    assert there["m"] == pytest.approx(stop.distance_m, abs=1)
    assert len(there["line"]) > 4 and there["line"][0] == [60.17, 24.94]
    # drawn along the street, not a straight leg: the page's map data carries the road line
    data = json.loads(re.search(r'id="geocrm-data">(.*?)</script>', page, re.S).group(1))
    (drawn,) = [p for p in data["planMap"]["plans"] if p["id"] == plan.id]
    assert decode_line(drawn["legs"][0]["line"]) == there["line"]
    assert data["planMap"]["attribution"], "OSM road data on the map: ODbL attribution"


def test_without_roads_every_plan_says_straight_line(app: Flask, instance: Path, world: World,
                                                     client: FlaskClient,
                                                     auth: AuthActions) -> None:
    """No region, no setting: the run page and each plan's own page say that its times are a
    straight-line estimate."""
    run = _plan(world)
    auth.login(world.planner.email)
    page = client.get(f"/planning/runs/{run.id}").get_data(as_text=True)
    assert "straight-line estimate" in page
    plan = next(p for p in run.plans if p.rep_id == world.rep_west.id)
    assert any(n.startswith("straight-line estimate") for n in plan.notes)
    page = client.get(f"/planning/plans/{plan.id}").get_data(as_text=True)
    assert "straight-line estimate" in page


def test_road_line_is_dropped_once_the_stops_change_order() -> None:
    """Legs drawn for stops [1, 2] join into one line; for any other order, straight lines."""
    from geocrm.planning.read import _road_line

    params = {"legs_for": [1, 2], "legs": [{"line": [[60.0, 24.0], [60.1, 24.1]]},
                                           {"line": [[60.1, 24.1], [60.2, 24.2]]}]}
    assert _road_line(params, [1, 2]) == [(60.0, 24.0), (60.1, 24.1), (60.1, 24.1), (60.2, 24.2)]
    assert _road_line(params, [2, 1]) is None and _road_line({}, [1]) is None


def test_osrm_setting_plans_on_the_server_and_draws_its_lines(
        app: Flask, instance: Path, world: World, fake: str) -> None:  # noqa: F811
    """GEOCRM_TRAVEL=osrm: the matrix and the route lines come from the (fake) OSRM server."""
    app.config.update(GEOCRM_TRAVEL="osrm", GEOCRM_OSRM_URL=fake)
    shop = make_account("Kauppatori kiosk", 60.1675, 24.9520, territory_id=world.west.id)
    db.session.commit()
    run = _plan(world, account_ids=(shop.id,))
    plan = next(p for p in run.plans if p.rep_id == world.rep_west.id)
    (stop,) = plan.stops
    assert stop.travel_s in (100, 200)  # the fake's /table: 100 s per index apart
    assert [leg["s"] for leg in plan.params["legs"]] == [60, 60]  # the fake's /route legs
    assert len(plan.params["legs"][0]["line"]) > 2
    assert any("/table/v1/driving/" in c for c in _Fake.calls)
    assert any("/route/v1/driving/" in c for c in _Fake.calls)
    assert not any("straight-line" in n for n in run.result.get("notes", []))


def test_territory_workload_uses_the_road_factor(app: Flask, instance: Path) -> None:
    """Straight line: the workload model's 1.3 circuity; on the demo region: what its roads
    measure (time on the roads over great-circle at the model's speed), between 1 and 5."""
    assert workload_model().circuity == 1.3
    app.test_cli_runner().invoke(args=["region", "load", "--demo"])
    factor = workload_model().circuity
    assert 1.0 < factor < 5.0 and factor != 1.3
    assert workload_model().circuity == factor  # measured once per region


def test_admin_page_loads_an_upload_as_a_job(app: Flask, instance: Path, world: World,
                                             client: FlaskClient, auth: AuthActions) -> None:
    """The admin uploads an extract: a job builds it (progress page, then what it built), the
    upload is removed; a wrong file type is refused naming it; other roles get 403."""
    auth.login(world.manager.email)
    assert client.get("/region/").status_code == 403
    auth.logout()
    auth.login(world.admin.email)
    page = client.get("/region/").get_data(as_text=True)
    assert "No region is loaded" in page and "straight-line" in page
    app.config.update(GEOCRM_TRAVEL="valhalla", GEOCRM_VALHALLA_URL="http://127.0.0.1:9")
    page = client.get("/region/").get_data(as_text=True)
    assert "road times of the Valhalla server" in page and "straight-line" not in page
    status = app.test_cli_runner().invoke(args=["region", "status"]).output
    assert status.strip() == "No region loaded: plans use the road times of the Valhalla server."
    app.config.update(GEOCRM_TRAVEL="", GEOCRM_VALHALLA_URL="")
    status = app.test_cli_runner().invoke(args=["region", "status"]).output
    assert status.strip() == "No region loaded: plans use straight-line estimates."
    bad = client.post("/region/load", data={"extract": (io.BytesIO(b"x"), "shops.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "shops.csv" in bad.get_data(as_text=True)
    with TOWN.open("rb") as f:
        resp = client.post("/region/load", data={"extract": (f, "river_town.osm")},
                           content_type="multipart/form-data")
    assert resp.status_code == 302 and "/region/jobs/" in resp.location
    job_id = int(resp.location.rstrip("/").split("/")[-1])
    assert jobs.wait_for_job(job_id, timeout=60).status == JobStatus.DONE
    done = client.get(resp.location).get_data(as_text=True)
    assert "Loaded river_town: 4 drivable ways" in done
    assert region_info()["ways"] == 4
    assert list((instance / "region" / "incoming").iterdir()) == []
    assert "Loaded: <strong>river_town</strong>" in client.get("/region/").get_data(as_text=True)


def test_field_today_carries_the_legs_along_the_roads(app: Flask, instance: Path, world: World,
                                                      client: FlaskClient,
                                                      auth: AuthActions) -> None:
    """Today's API gives the published plan's road legs while its stops keep their order."""
    a, b = world.west_accounts
    legs = [{"s": 60, "m": 500, "line": [[60.17, 24.92], [60.171, 24.925]]},
            {"s": 30, "m": 200, "line": [[60.171, 24.925], [60.172, 24.93]]},
            {"s": 90, "m": 700, "line": [[60.172, 24.93], [60.17, 24.92]]}]
    plan = RoutePlan(rep_id=world.rep_west.id, plan_date=local_today(),
                     status=PlanStatus.PUBLISHED, published_at=utcnow(),
                     params={"legs": legs, "legs_for": [b.id, a.id]})
    plan.stops = [RouteStop(seq=1, account_id=b.id), RouteStop(seq=2, account_id=a.id)]
    db.session.add(plan)
    db.session.commit()
    auth.login(world.rep_west.email)
    assert client.get("/api/v1/today").get_json()["legs"] == legs
    plan.params = {"legs": legs, "legs_for": [a.id, b.id]}  # the stops were reordered since
    db.session.commit()
    assert client.get("/api/v1/today").get_json()["legs"] == []
