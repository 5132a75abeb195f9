"""Territory pages over HTTP on both engines: roles, scope (404), CSRF, errors, forms."""

from __future__ import annotations

import io
import json
import re

import shapely
from shapely.geometry import mapping
from sqlalchemy import select

from geocrm.extensions import db
from geocrm.models import Account, Role, Territory
from tests.conftest import PASSWORD
from tests.factories import make_account, make_user
from tests.geocrm.test_i18n import compiled_catalogues  # noqa: F401

SQUARE = mapping(shapely.box(24.955, 60.185, 24.995, 60.195))  # over the script-named one


def post_json(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers={"Accept": "application/json", **headers})


def test_anonymous_is_sent_to_login_and_planners_and_reps_cannot_edit(client, auth, world):
    """Every page needs a login; planners and reps read but every change answers 403."""
    assert client.get("/territories/").status_code == 302
    auth.login("planner@example.com")
    page = client.get("/territories/")
    assert page.status_code == 200
    assert b"leaflet-draw" not in page.data  # no Draw toolbar for read-only users
    assert post_json(client, "/territories/api/territories",
                     {"name": "X", "geometry": SQUARE}).status_code == 403
    assert client.get("/territories/balance").status_code == 403
    auth.logout()
    auth.login("west@example.com")
    data = client.get("/territories/data.json").get_json()
    assert [f["properties"]["name"] for f in data["territories"]["features"]] == ["West"]
    assert data["editable"] is False and data["unassigned"] == 0
    assert post_json(client, f"/territories/api/territories/{world.west.id}/delete",
                     {}).status_code == 403
    exported = json.loads(client.get("/territories/export.geojson").data)
    assert [f["properties"]["name"] for f in exported["features"]] == ["West"]


def test_editor_page_uses_local_assets_only(client, auth, world):
    """Leaflet and Leaflet.draw come from /static/vendor; no page asset names a host."""
    auth.login("manager@example.com")
    html = client.get("/territories/").get_data(as_text=True)
    assert "/static/vendor/leaflet-draw/leaflet.draw.js" in html
    assert "/static/vendor/leaflet-draw/leaflet.draw.css" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "cdnjs" not in html and "cdn.jsdelivr" not in html


def test_out_of_scope_territory_answers_404_as_a_problem(client, auth, world):
    """Another manager's territory is a 404 for every action, exactly like a missing one."""
    make_user("other@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    auth.login("other@example.com")
    for action, body in (("geometry", {"geometry": SQUARE}), ("delete", {}),
                         ("reps", {"rep_ids": []}), ("split", {"cutter": SQUARE}),
                         ("properties", {"name": "Mine"})):
        r = post_json(client, f"/territories/api/territories/{world.west.id}/{action}", body)
        assert r.status_code == 404, action
        missing = post_json(client, f"/territories/api/territories/99999/{action}", body)
        assert missing.status_code == 404
        assert r.get_json()["detail"].startswith("No territory")
    assert db.session.get(Territory, world.west.id).name == "West"


def test_bad_shape_is_a_422_naming_the_field_and_the_problem(client, auth, world):
    """A bow-tie with repair off and a projected square come back as problem documents."""
    auth.login("manager@example.com")
    bow = {"type": "Polygon", "coordinates": [[[25.3, 60.3], [25.4, 60.4], [25.4, 60.3],
                                               [25.3, 60.4], [25.3, 60.3]]]}
    r = post_json(client, "/territories/api/territories",
                  {"name": "Bow", "geometry": bow, "repair": False})
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["field"] == "geometry" and "Self-intersection" in r.get_json()["detail"]
    r = post_json(client, "/territories/api/territories", {"name": "Bow", "geometry": bow})
    assert r.status_code == 200
    assert any("repaired into 2 part(s)" in n for n in r.get_json()["notes"])
    r = post_json(client, "/territories/api/territories", {"name": "", "geometry": SQUARE})
    assert r.status_code == 422 and r.get_json()["field"] == "name"


def test_create_then_undo_over_json(client, auth, world):
    """Creating answers the moves and an undo URL; undo puts the account back."""
    auth.login("manager@example.com")
    xss = world.east_accounts[1]
    r = post_json(client, "/territories/api/territories", {"name": "North strip",
                                                           "geometry": SQUARE})
    body = r.get_json()
    assert body["moved"] == 1
    new_id = body["territory"]
    db.session.expire_all()
    assert db.session.get(Account, xss.id).territory_id == new_id
    assert post_json(client, body["undo_url"], {}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Account, xss.id).territory_id == world.east.id
    assert db.session.get(Territory, new_id) is None
    assert post_json(client, body["undo_url"], {}).status_code == 409


def test_json_posts_need_the_csrf_header(app, world):
    """With CSRF on (as in production) a post without the token header is refused (400),
    with the page's meta token in X-CSRFToken it is accepted."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page)
    token = token or re.search(r'name="csrf-token" content="([^"]+)"', login_page)
    client.post("/login", data={"email": "manager@example.com", "password": PASSWORD,
                                "csrf_token": token.group(1)})
    page = client.get("/territories/").get_data(as_text=True)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    url = f"/territories/api/territories/{world.west.id}/properties"
    assert post_json(client, url, {"color": "#000000"}).status_code == 400
    ok = post_json(client, url, {"color": "#000000"}, **{"X-CSRFToken": meta})
    assert ok.status_code == 200
    db.session.expire_all()
    assert db.session.get(Territory, world.west.id).color == "#000000"


def test_names_are_escaped_on_pages(client, auth, world):
    """A territory named like a script shows as text on the history page."""
    auth.login("manager@example.com")
    post_json(client, "/territories/api/territories",
              {"name": "<script>alert(2)</script>", "geometry": SQUARE})
    html = client.get("/territories/history").get_data(as_text=True)
    assert "<script>alert(2)</script>" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_import_upload_preview_apply_over_http(client, auth, world):
    """Upload → preview page lists the feature → apply → the territory exists."""
    auth.login("manager@example.com")
    body = json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Imported <b>"}, "geometry": SQUARE}]})
    r = client.post("/territories/import", data={"file": (io.BytesIO(body.encode()),
                                                          "t.geojson")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    preview_url = r.headers["Location"]
    page = client.get(preview_url)
    assert page.status_code == 200 and b"Imported &lt;b&gt;" in page.data
    token = preview_url.rstrip("/").split("/")[-1]
    r = client.post(f"/territories/import/{token}/apply", data={"name_column": "name"})
    assert r.status_code == 302
    assert db.session.scalar(select(Territory).where(Territory.name == "Imported <b>"))
    bad = client.post("/territories/import", data={"file": (io.BytesIO(b"x"), "t.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and b"GeoJSON" in bad.data
    assert client.get("/territories/import/" + "0" * 32).status_code == 404


def test_balance_wizard_over_http(client, auth, world):
    """Choose both territories and reps → preview table → apply → history lists it."""
    auth.login("manager@example.com")
    r = client.post("/territories/balance", data={
        "area": "territories", "territory": [str(world.west.id), str(world.east.id)],
        "rep": [str(world.rep_west.id), str(world.rep_east.id)], "units": "hex",
        "cell_km": "0.5", "target": "1.10"})
    assert r.status_code == 302, r.data
    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    assert b"balance-after" in page.data and b"West" in page.data
    apply_url = r.headers["Location"] + "/apply"
    assert client.post(apply_url).status_code == 302
    history = client.get("/territories/history").get_data(as_text=True)
    assert "balance: balanced 2 territories" in history
    make_user("other@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    auth.logout()
    auth.login("other@example.com")
    assert client.get(r.headers["Location"]).status_code == 404
    bad = client.post("/territories/balance", data={"area": "territories", "rep": []})
    assert bad.status_code == 422


def test_rebalance_is_the_forms_default_and_applies_over_http(client, auth, world):
    """The wizard opens on "rebalance"; posting it previews (what changes hands outlined in
    red on the map), applies and lists it."""
    for i in range(6):  # East twice as heavy: weekly hour-long visits near the border
        make_account(f"Busy {i}", 60.155 + i * 0.008, 24.953, territory_id=world.east.id,
                     cadence_days=7, visit_minutes=60)
    db.session.commit()
    auth.login("manager@example.com")
    form = client.get("/territories/balance").get_data(as_text=True)
    assert 'value="rebalance" checked' in form
    r = client.post("/territories/balance", data={
        "mode": "rebalance", "area": "territories",
        "territory": [str(world.west.id), str(world.east.id)], "units": "square",
        "cell_km": "0.5", "target": "1.10"})
    assert r.status_code == 302, r.data
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Rebalance preview" in page and "unit(s) change territory" in page
    assert "(target 1.1)" in page
    moved = re.search(r'id="moved-units" data-value="(\d+)"', page)
    assert moved and int(moved.group(1)) > 0
    assert "Changes territory" in page and "red outline on the map" in page
    gains = [int(n) for n in re.findall(r'<td data-col="gains">(\d+)</td>', page)]
    loses = [int(n) for n in re.findall(r'<td data-col="loses">(\d+)</td>', page)]
    assert len(gains) == 2 and sum(gains) == sum(loses) > 0  # what one gains the other loses
    assert client.post(r.headers["Location"] + "/apply").status_code == 302
    assert "balance: rebalanced 2 territories" in client.get("/territories/history").get_data(
        as_text=True)
    bad = client.post("/territories/balance", data={"mode": "sideways", "area": "territories"})
    assert bad.status_code == 422 and "rebalance or scratch" in bad.get_data(as_text=True)


def test_large_balance_applies_as_a_background_job(app, client, auth, world):
    """Past the size threshold apply runs through geocrm.jobs: the page shows the job, and
    when it is done the territories, moves and revision are committed together."""
    from geocrm.jobs import drain
    from geocrm.models.territory_admin import TerritoryRevision

    app.config["GEOCRM_TERRITORY_JOB_ACCOUNTS"] = 0
    auth.login("manager@example.com")
    r = client.post("/territories/balance", data={
        "area": "territories", "rep": [str(world.rep_west.id), str(world.rep_east.id)],
        "units": "square", "cell_km": "0.5"})
    assert r.status_code == 302
    west_before = db.session.get(Territory, world.west.id).geom
    applied = client.post(r.headers["Location"] + "/apply")
    assert applied.status_code == 302 and "/territories/jobs/" in applied.headers["Location"]
    drain(app, timeout=60)
    page = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert 'data-status="done"' in page, page
    db.session.expire_all()
    revision = db.session.scalar(select(TerritoryRevision).where(
        TerritoryRevision.kind == "balance"))
    assert revision is not None and revision.created_by_id == world.manager.id
    assert not db.session.get(Territory, world.west.id).geom.equals(west_before)
    other = make_user("other@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    auth.logout()
    auth.login(other.email)
    assert client.get(applied.headers["Location"]).status_code == 404


def test_errors_speak_the_readers_language(client, auth, world):
    """A shape or id problem comes back in Korean / Japanese with its values kept (the field
    stays the programs' key): issue 12."""
    auth.login("manager@example.com")
    ko = post_json(client, "/territories/api/territories", {"name": "", "geometry": SQUARE},
                   **{"Accept-Language": "ko"})
    assert ko.status_code == 422 and ko.get_json()["detail"] == "이름: 구역에는 이름이 필요합니다"
    assert ko.get_json()["field"] == "name"  # the key stays, for programs
    ja = post_json(client, "/territories/api/territories/99999/delete", {},
                   **{"Accept-Language": "ja"})
    assert ja.status_code == 404 and ja.get_json()["detail"] == "エリア 99999 はありません。"
    line = {"type": "LineString", "coordinates": [[24.0, 60.0], [24.001, 60.001]]}
    cut = post_json(client, f"/territories/api/territories/{world.west.id}/split",
                    {"cutter": line}, **{"Accept-Language": "ko"})
    assert cut.status_code == 422 and "'West'" in cut.get_json()["detail"]
    assert "line" not in cut.get_json()["detail"].split(":", 1)[1]
    assert "cutter" not in cut.get_json()["detail"]  # the field's label, not its key


def test_job_progress_in_the_readers_language(app):
    """A background territory job's progress reads in Korean and Japanese on its page."""
    from flask_babel import refresh

    from geocrm.territory_admin.jobs import READING, RESHAPING
    from geocrm.territory_admin.views import territory_progress

    for lang in ("ko", "ja"):
        with app.test_request_context(headers={"Accept-Language": lang}):
            refresh()
            said = [territory_progress(m) for m in (READING, RESHAPING, "started", "queued")]
        assert not any(any(w in s for w in ("reading", "reshaping", "started", "queued"))
                       for s in said), said


def test_changing_reps_in_the_editor_is_a_change_the_api_sees(client, auth, world):
    """The reps live in their own table, yet setting them in the map editor (and undoing
    that) bumps the territory's updated_at: the API's ETag and updated_since see it."""
    from datetime import timedelta

    from geocrm.api.tokens import create_token
    from geocrm.models import utcnow

    _, token = create_token(world.manager, "test", scopes=("read",))
    west = world.west
    west.updated_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    api = {"Authorization": f"Bearer {token}"}
    before = client.get(f"/api/v1/territories/{west.id}", headers=api)
    since = (utcnow() - timedelta(minutes=1)).isoformat() + "Z"
    listed = client.get("/api/v1/territories", headers=api,
                        query_string={"updated_since": since}).get_json()["features"]
    assert west.id not in [f["id"] for f in listed]
    auth.login("manager@example.com")
    r = post_json(client, f"/territories/api/territories/{west.id}/reps",
                  {"rep_ids": [world.rep_west.id, world.rep_east.id]})
    assert r.status_code == 200, r.get_json()
    auth.logout()
    after = client.get(f"/api/v1/territories/{west.id}", headers=api)
    assert after.status_code == 200, after.get_json()
    assert after.headers["ETag"] != before.headers["ETag"]
    listed = client.get("/api/v1/territories", headers=api,
                        query_string={"updated_since": since}).get_json()["features"]
    assert west.id in [f["id"] for f in listed]
    db.session.expire_all()
    stamp = db.session.get(Territory, west.id).updated_at
    assert stamp > utcnow() - timedelta(minutes=1)
