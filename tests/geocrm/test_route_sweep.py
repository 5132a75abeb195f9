"""Every rule of the URL map, swept (issue 18): with another user's object ids and with ids
out of range, no page or API answers 5xx, and none answers 200 with another user's object.

The ids are filled from each rule's argument names (``account_id`` is an account of the other
rep, ``token`` depends on the blueprint, ...). A rule with an argument the tables below do not
know fails the sweep, so a new route is covered the day it is added: give its argument a
value in :func:`_foreign_world` / :func:`_token_for` (or, for an argument that names no
object, in :data:`FREE`).

Who sweeps: rep A (``west``) with rep B's (``east``) objects, and a manager without
territories with every other person's. GETs must answer 403 or 404 for a foreign object;
writes (POST, PATCH, PUT, DELETE with an empty form, or empty JSON under ``/api/``) must
answer 4xx, and nothing of the other user's may change. Out-of-range ids (0, -1, 2^31,
2^63) are no URL (404) and the largest possible id a missing one, on both engines.

CSRF is off in the test app, so an empty write reaches the view as a CSRF-valid one would.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Map, Rule

from geocrm.extensions import db
from geocrm.models import (
    Contact,
    ImportBatch,
    Interaction,
    Opportunity,
    Role,
    Task,
    User,
)
from geocrm.models.crm import Segment
from geocrm.models.daily import DailyReport
from geocrm.models.field import ApiToken, VisitPhoto
from geocrm.models.planning import Job, JobStatus, PlanRun, RoutePlan, RouteStop
from geocrm.models.provenance import ImportConflict
from geocrm.models.territory_admin import BalanceProposal, TerritoryRevision
from geocrm.models.webhooks import WebhookDelivery, WebhookEndpoint
from geocrm.uploads import ACCOUNT_IMPORTS, TERRITORY_FILES
from tests.conftest import PASSWORD
from tests.factories import World, make_interaction, make_user

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
DAY = date(2026, 11, 20)
#: Arguments that name no object of anybody's: any answer but 5xx will do.
FREE = {"day": DAY.isoformat(), "key": "visits", "fmt": "geojson", "locale": "ko",
        "filename": "no-such-file.js"}
#: Out-of-range and edge ids: no row has them; the database must never be asked for
#: one it cannot hold (PostgreSQL's integer stops at 2^31 - 1, SQLite's at 2^63 - 1);
#: 2^31 - 1 is the largest it can, so the views look it up and must answer 404.
MISSING = 2**31 - 1
BAD_IDS = (0, -1, MISSING, 2**31, 2**63)
#: Rules that end the session that sweeps (re-signed in after each).
SIGNS_OUT = {"auth.logout"}


def _foreign_world(world: World) -> dict[str, Any]:
    """Objects of rep B (``east``) and of the territories' manager; their ids by argument."""
    rep_b, boss = world.rep_east, world.manager
    account = world.east_accounts[0]
    visit = make_interaction(account, rep_b, notes="B's visit")
    task = Task(title="B's task", account_id=account.id, assignee_id=rep_b.id,
                created_by_id=rep_b.id, interaction_id=visit.id, due_date=DAY)
    opportunity = Opportunity(account_id=account.id, owner_id=rep_b.id, name="B's deal")
    photo = VisitPhoto(interaction_id=visit.id, content_type="image/png", data=b"\x89PNG")
    contact = Contact(account_id=account.id, name="B's contact")
    segment = Segment(name="B's segment", filters={}, created_by_id=rep_b.id)
    job = Job(kind="plan", func="geocrm.planning.jobs:run_plan", kwargs={},
              created_by_id=boss.id, status=JobStatus.DONE)
    db.session.add_all([task, opportunity, photo, contact, segment, job])
    db.session.flush()
    run = PlanRun(created_by_id=boss.id, start_date=DAY, end_date=DAY, job_id=job.id)
    db.session.add(run)
    db.session.flush()
    plan = RoutePlan(rep_id=rep_b.id, plan_date=DAY, created_by_id=boss.id, run_id=run.id)
    db.session.add(plan)
    db.session.flush()
    stop = RouteStop(plan_id=plan.id, seq=0, account_id=account.id)
    batch = ImportBatch(filename="boss-secret-file.csv", sha256="0" * 64, source="erp",
                        status="committed", created_by_id=boss.id,
                        duplicates=[{"row": 2, "name": account.name, "rule": "name",
                                     "other": account.id, "outcome": "imported"}])
    revision = TerritoryRevision(kind="edit", summary="B", created_by_id=boss.id,
                                 territory_ids=[world.east.id])
    proposal = BalanceProposal(created_by_id=boss.id, replaces=[world.east.id])
    report = DailyReport(rep_id=rep_b.id, report_date=DAY, comment="B's day")
    endpoint = WebhookEndpoint(url="https://example.com/hook", secret="s" * 32,
                               events=["account.*"], created_by_id=world.admin.id)
    token = ApiToken(user_id=rep_b.id, name="B's token", token_hash=secrets.token_hex(32),
                     prefix="gcrm_b")
    db.session.add_all([stop, batch, revision, proposal, report, endpoint, token])
    db.session.flush()
    conflict = ImportConflict(account_id=account.id, batch_id=batch.id, source="erp",
                              field="phone", current="1", imported="2")
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=str(uuid.uuid4()),
                               kind="account.updated", payload={"id": account.id})
    db.session.add_all([conflict, delivery])
    db.session.commit()
    return {
        "account_id": account.id, "interaction_id": visit.id, "task_id": task.id,
        "opportunity_id": opportunity.id, "photo_id": photo.id, "segment_id": segment.id,
        "job_id": job.id, "run_id": run.id, "plan_id": plan.id, "stop_id": stop.id,
        "batch_id": batch.id, "import_id": batch.id, "contact_id": contact.id,
        "conflict_id": conflict.id, "revision_id": revision.id,
        "proposal_id": proposal.id, "rep_id": rep_b.id, "user_id": rep_b.id,
        "territory_id": world.east.id, "endpoint_id": endpoint.id,
        "delivery_id": delivery.id, "token_id": token.id,
    }


def _uploads(boss: User) -> dict[str, str]:
    """An account import and a territory file the territories' manager uploaded."""
    csv = b"name,lat,lon\nBoss's prospect,60.17,24.95\n"
    geojson = b'{"type": "FeatureCollection", "features": []}'
    return {
        "imports": ACCOUNT_IMPORTS.save(csv, {"user_id": boss.id, "filename": "boss.csv",
                                              "source": "erp", "snapshot": False, "rows": 1,
                                              "encoding": None}, suffix=".csv"),
        "territory_admin": TERRITORY_FILES.save(geojson, {"user_id": boss.id,
                                                          "filename": "boss.geojson"},
                                                suffix=".geojson"),
    }


def _token_for(rule: Rule, uploads: dict[str, str]) -> str:
    """``<token>`` names an upload of the blueprint's own store, or a secret link."""
    blueprint = rule.endpoint.split(".")[0]
    if blueprint in uploads:
        return uploads[blueprint]
    if rule.endpoint in {"people.join", "feeds.feed"}:  # a secret link nobody was given
        return secrets.token_urlsafe(24)
    raise KeyError(rule.endpoint)


def _fill(rule: Rule, ids: dict[str, Any], uploads: dict[str, str]) -> dict[str, Any] | None:
    """Values for every argument of ``rule``, or ``None`` if one is unknown."""
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        if arg in ids:
            values[arg] = ids[arg]
        elif arg in FREE:
            values[arg] = FREE[arg]
        elif arg == "token":
            try:
                values[arg] = _token_for(rule, uploads)
            except KeyError:
                return None
        else:
            return None
    return values


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _send(client: FlaskClient, rule: Rule, method: str, url: str) -> Any:
    """The request: a GET, or an empty write (JSON under /api/, else a form)."""
    if method == "GET":
        response = client.get(url)
    elif rule.rule.startswith("/api/"):
        response = client.open(url, method=method, json={})
    else:
        response = client.open(url, method=method, data={})
    response.close()
    return response


def _login(client: FlaskClient, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


def _snapshot(ids: dict[str, Any]) -> dict[str, Any]:
    """Every column of the foreign objects, and what hangs on the foreign account."""
    from geocrm.models import Account, Territory

    models = {"account_id": Account, "interaction_id": Interaction, "task_id": Task,
              "opportunity_id": Opportunity, "segment_id": Segment, "run_id": PlanRun,
              "plan_id": RoutePlan, "stop_id": RouteStop, "batch_id": ImportBatch,
              "contact_id": Contact,
              "conflict_id": ImportConflict, "revision_id": TerritoryRevision,
              "proposal_id": BalanceProposal, "user_id": User, "territory_id": Territory,
              "endpoint_id": WebhookEndpoint, "delivery_id": WebhookDelivery,
              "token_id": ApiToken}
    db.session.expire_all()
    state: dict[str, Any] = {}
    for arg, model in models.items():
        row = db.session.get(model, ids[arg])
        assert row is not None, arg
        state[arg] = {c.key: getattr(row, c.key) for c in model.__table__.columns
                      if c.key not in {"last_seen_at", "updated_at"}}
    account = ids["account_id"]
    for model in (Contact, Interaction, Task, Opportunity):
        state[model.__tablename__] = sorted(db.session.scalars(
            select(model.id).where(model.account_id == account)).all())
    state["reports"] = sorted(db.session.scalars(
        select(DailyReport.id).where(DailyReport.rep_id == ids["rep_id"])).all())
    state["reps_of_east"] = sorted(u.id for u in db.session.get(Territory,
                                                                ids["territory_id"]).reps)
    return state


def sweep_foreign(app: Flask, client: FlaskClient, email: str, ids: dict[str, Any],
                  uploads: dict[str, str]) -> tuple[list[str], list[str]]:
    """Every rule as ``email`` with the foreign ids: (problems, rules it cannot fill)."""
    problems: list[str] = []
    unfilled: list[str] = []
    _login(client, email)
    for rule in app.url_map.iter_rules():
        values = _fill(rule, ids, uploads)
        if values is None:
            unfilled.append(f"{rule.rule} ({rule.endpoint})")
            continue
        url = rule.build(values, append_unknown=False)[1]
        owned = any(a not in FREE and not (a == "token" and rule.endpoint in
                                            {"people.join", "feeds.feed"})
                    for a in rule.arguments)
        for method in _methods(rule):
            if method in WRITES and not rule.arguments and rule.endpoint in SIGNS_OUT:
                continue
            r = _send(client, rule, method, url)
            code = r.status_code
            if code >= 500:
                problems.append(f"{method} {url} ({rule.endpoint}) answered {code}")
            elif owned and method == "GET" and code not in (403, 404):
                problems.append(f"{method} {url} ({rule.endpoint}) answered {code} "
                                f"for another user's object")
            elif owned and method in WRITES and not 400 <= code < 500:
                problems.append(f"{method} {url} ({rule.endpoint}) answered {code} "
                                f"to an empty write on another user's object")
    return problems, unfilled


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_every_rule_with_another_users_ids(app: Flask, client: FlaskClient,
                                           world: World) -> None:
    """Rep A with rep B's ids, and a manager without territories with everyone's: 403/404
    for every foreign object, 4xx for every empty write, no 5xx, and nothing of theirs
    changed."""
    make_user("lonely@example.com", Role.MANAGER, PASSWORD)
    db.session.commit()
    ids = _foreign_world(world)
    uploads = _uploads(world.manager)
    before = _snapshot(ids)
    problems: list[str] = []
    for email in ("west@example.com", "lonely@example.com"):
        found, unfilled = sweep_foreign(app, client, email, ids, uploads)
        assert unfilled == [], ("the sweep cannot fill these rules: give their arguments a "
                                "value in tests/geocrm/test_route_sweep.py", unfilled)
        problems += [f"{email}: {p}" for p in found]
        client.post("/logout")
    assert problems == [], "\n".join(problems)
    assert _snapshot(ids) == before


def test_every_rule_with_ids_out_of_range(app: Flask, client: FlaskClient,
                                          world: World) -> None:
    """0, -1, 2^31 and 2^63 in every id of every rule, as an admin (who may open anything),
    are no URL (404); 2^31 - 1, the largest id there may be, is looked up and missing (403 or
    404; an empty write may be refused for its body first). Never 5xx, on both engines."""
    ids = _foreign_world(world)
    uploads = _uploads(world.admin)
    _login(client, "admin@example.com")
    problems: list[str] = []
    checked = 0
    for rule in app.url_map.iter_rules():
        values = _fill(rule, ids, uploads)
        assert values is not None, rule.rule  # the test above names the unfilled rules
        for arg in [a for a in rule.arguments if a.endswith("_id")]:
            for bad in BAD_IDS:
                url = rule.build({**values, arg: bad}, append_unknown=False)[1]
                for method in _methods(rule):
                    code = _send(client, rule, method, url).status_code
                    checked += 1
                    if bad == MISSING:  # a lookup: 403/404, or a 4xx for an empty write
                        ok = code in (403, 404) or (method in WRITES and 400 <= code < 500)
                    else:  # no such URL at all
                        ok = code == 404
                    if not ok:
                        problems.append(f"{method} {url} ({rule.endpoint}) answered {code}")
    assert checked > 300
    assert problems == [], "\n".join(problems)


def test_the_sweep_fails_on_an_argument_it_does_not_know() -> None:
    """Guard: a rule whose argument the tables do not know is reported, not skipped."""
    unknown = Rule("/widgets/<int:widget_id>", endpoint="widgets.detail")
    known = Rule("/x/<int:account_id>/<day>", endpoint="x.y")
    Map([unknown, known])
    assert _fill(unknown, {"account_id": 1}, {}) is None
    assert _fill(known, {"account_id": 1}, {}) == {"account_id": 1, "day": FREE["day"]}
