"""Re-plan from the phone (issue 15, item 6): the position in the body, exactly once by the
phone's id, queued in the outbox when offline and applied on sync; what changed is stored
as notes (codes), never English sentences, and read back in the rep's language."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from geocrm import clock, jobs
from geocrm.extensions import db
from geocrm.models import RoutePlan
from geocrm.models.field import SyncRecord
from geocrm.models.planning import JobStatus, PlanRun
from geocrm.planning import services
from tests.conftest import AuthActions
from tests.factories import World, make_account

FRIDAY = date(2026, 5, 15)  # Helsinki, UTC+3


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "GEOCRM_TIMEZONE": "Europe/Helsinki",
            "GEOCRM_PLAN_TIME_LIMIT": 0.5, "GEOCRM_REPLAN_TIME_LIMIT": 0.5}


@pytest.fixture
def friday(monkeypatch: pytest.MonkeyPatch) -> None:
    """Friday 08:00 in Helsinki while planning; the test moves the clock on."""
    monkeypatch.setattr(clock, "local_now", lambda: datetime(2026, 5, 15, 5, 0, tzinfo=UTC))


def published(world: World) -> RoutePlan:
    """West's day: the two West accounts plus a shop that closes at 15:00."""
    make_account("Kahvila Sävy", 60.178, 24.925, territory_id=world.west.id,
                 opening_hours="Mo-Fr 09:00-15:00", visit_minutes=30)
    req = services.PlanRequest(rep_ids=(world.rep_west.id,), start=FRIDAY, end=FRIDAY)
    run = services.start_run(world.planner, req)
    assert jobs.wait_for_job(run.job_id, timeout=60).status == JobStatus.DONE
    db.session.expire_all()
    run = db.session.get(PlanRun, run.id)
    services.publish(run)
    db.session.commit()
    return run.plans[0]


def at_clock(monkeypatch: pytest.MonkeyPatch, hour_utc: int, minute: int = 0) -> None:
    monkeypatch.setattr(clock, "local_now",
                        lambda: datetime(2026, 5, 15, hour_utc, minute, tzinfo=UTC))


def test_replan_online_exactly_once_and_in_words(app: Flask, world: World, client: FlaskClient,
                                                 auth: AuthActions, friday: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    plan = published(world)
    at_clock(monkeypatch, 11, 30)  # 14:30 in Helsinki: Sävy (closes 15:00) no longer fits
    auth.login(world.rep_west.email)
    key = str(uuid.uuid4())
    body = {"plan_id": plan.id, "lat": 60.17, "lon": 24.92, "accuracy_m": 12}
    first = client.post("/api/v1/today/replan", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.get_data(as_text=True)
    answer = first.get_json()
    assert answer["lines"][0].startswith("Re-planned at 14:30 from where you are now")
    assert any("Kahvila Sävy dropped: closed after 15:00" in line for line in answer["lines"])
    # Stored as notes (codes and parameters), not sentences.
    db.session.expire_all()
    stored = db.session.get(RoutePlan, plan.id).params["last_replan"]["summary"]
    assert all(isinstance(n, dict) and "code" in n for n in stored)
    record = db.session.query(SyncRecord).filter_by(client_id=key).one()
    assert record.op == "replan" and "Re-planned" not in str(record.result)
    # The same id again (a retry after a lost answer): the stored answer, nothing re-run.
    again = client.post("/api/v1/today/replan", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert again.get_json()["summary"] == answer["summary"]
    # Read back in Korean: the same record, other words.
    korean = client.get("/api/v1/today/replan", headers={"Accept-Language": "ko"}).get_json()
    english = client.get("/api/v1/today/replan").get_json()
    assert len(korean["lines"]) == len(english["lines"]) == len(answer["lines"])
    assert korean["lines"][0] != english["lines"][0]
    assert "Kahvila Sävy" in " ".join(korean["lines"])


def test_replan_queued_offline_is_applied_on_sync(app: Flask, world: World,
                                                  client: FlaskClient, auth: AuthActions,
                                                  friday: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    plan = published(world)
    before = [(s.account_id, s.seq) for s in sorted(plan.stops, key=lambda s: s.seq)]
    assert len(before) == 3
    at_clock(monkeypatch, 9)  # 12:00
    auth.login(world.rep_west.email)
    op = {"id": str(uuid.uuid4()), "op": "replan",
          "data": {"plan_id": plan.id, "lat": 60.19, "lon": 24.93,
                   "asked_at": "2026-05-15T08:55:00Z"}}
    sync = client.post("/api/v1/sync", json={"ops": [op]})
    assert sync.status_code == 200
    result = sync.get_json()["results"][0]
    assert result["ok"] and result["result"]["plan_id"] == plan.id
    words = client.get("/api/v1/today/replan").get_json()
    assert words["lines"][0].startswith("Re-planned at 12:00 from where you are now")
    assert words["asked_at"].startswith("2026-05-15T08:55")
    replay = client.post("/api/v1/sync", json={"ops": [op]}).get_json()["results"][0]
    assert replay["replayed"] is True


def test_replan_refuses_bad_input_and_other_plans(app: Flask, world: World,
                                                  client: FlaskClient, auth: AuthActions,
                                                  friday: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    plan = published(world)
    at_clock(monkeypatch, 9)
    auth.login(world.rep_west.email)

    def post(body: Any, key: str | None = None) -> Any:
        return client.post("/api/v1/today/replan", json=body,
                           headers={"Idempotency-Key": key or str(uuid.uuid4())})

    no_key = client.post("/api/v1/today/replan", json={"plan_id": plan.id, "lat": 1, "lon": 1})
    assert no_key.status_code == 422
    assert post({"plan_id": plan.id, "lat": 91, "lon": 24.9}).status_code == 422
    assert post({"plan_id": plan.id, "lat": "60.1", "lon": 24.9}).status_code == 422
    # The position only ever travels in the body: in the URL it is not read.
    in_url = client.post(f"/api/v1/today/replan?plan_id={plan.id}&lat=60.17&lon=24.92",
                         headers={"Idempotency-Key": str(uuid.uuid4())})
    assert in_url.status_code == 422
    auth.logout()
    auth.login(world.rep_east.email)  # not East's plan: 404, like a missing one
    assert post({"plan_id": plan.id, "lat": 60.17, "lon": 24.92}).status_code == 404
