"""One transaction owner: services flush, the entry point commits (or rolls back).

Pins down that every route that writes is a ``@commits`` view, that its answer is durable
(read back on another connection), that an error answer leaves nothing, and that a job
function cannot commit behind the job runner's back.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from geocrm import jobs
from geocrm.core.transaction import MARK
from geocrm.extensions import db
from geocrm.models import Tag
from geocrm.models.planning import JobStatus

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Let this module's job function run as a job."""
    return {**app_config, "GEOCRM_JOB_MODULES": ("tests.",)}


def committing_job(name: str) -> dict[str, str]:
    """A job function that breaks the rule: it commits its own write."""
    db.session.add(Tag(name=name))
    db.session.commit()
    return {"name": name}


def test_every_route_that_writes_owns_its_transaction(app: Flask) -> None:
    """Every POST/PUT/PATCH/DELETE route is wrapped by geocrm.core.transaction.commits."""
    missing = sorted(
        f"{rule.endpoint} {sorted((rule.methods or set()) & WRITES)}"
        for rule in app.url_map.iter_rules()
        if (rule.methods or set()) & WRITES
        and not getattr(app.view_functions[rule.endpoint], MARK, False)
    )
    assert missing == []


def _phone_on_another_connection(account_id: int) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT phone FROM accounts WHERE id = :id"),
                            {"id": account_id}).scalar_one()


def test_a_view_commits_its_answer_and_rolls_back_an_error(world, client, auth) -> None:
    """A PATCH that answers 200 is durable on another connection; a 422 leaves nothing."""
    auth.login("manager@example.com")
    account_id = world.west_accounts[0].id
    r = client.patch(f"/api/v1/accounts/{account_id}", json={"phone": "+358 9 777"})
    assert r.status_code == 200
    assert _phone_on_another_connection(account_id) == "+358 9 777"
    r = client.patch(f"/api/v1/accounts/{account_id}", json={"phone": "+358 9 888", "email": "x"})
    assert r.status_code == 422
    assert _phone_on_another_connection(account_id) == "+358 9 777"
    # The form edit too: its redirect commits.
    r = client.post(f"/accounts/{account_id}/edit",
                    data={"name": "Kahvila Aalto", "phone": "+358 9 999", "stage": "lead"})
    assert r.status_code == 302
    assert _phone_on_another_connection(account_id) == "+358 9 999"


def test_a_job_function_that_commits_fails_and_writes_nothing(app: Flask, world) -> None:
    """run_job owns a job's transaction: a commit inside the function fails the job."""
    job = jobs.submit_job("test", f"{__name__}:committing_job", {"name": "sneaky"},
                          world.admin.id)
    done = jobs.wait_for_job(job.id, timeout=30)
    assert done.status == JobStatus.FAILED
    assert "must not commit" in (done.error or "")
    assert db.session.query(Tag).filter_by(name="sneaky").count() == 0
