"""Background jobs on both backends: the in-process pool and a real Redis/RQ queue.

The RQ tests talk to the Redis server on 127.0.0.1:6379 (``GEOCRM_TEST_REDIS_URL`` to point
elsewhere), each on a queue of its own; without Redis they skip, unless
``GEOCRM_REQUIRE_REDIS=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from geocrm import jobs
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.models import Tag
from geocrm.models.planning import Job, JobStatus
from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]
HERE = "tests.geocrm.test_jobs"
REACHED = threading.Event()
RELEASE = threading.Event()


# -- job functions the tests run (module-level, found by "module:function") ---------------
def double(x: int) -> dict[str, int]:
    jobs.report_progress(0.5, "halfway")
    return {"value": 2 * x}


def write_tag(name: str) -> dict[str, str]:
    db.session.add(Tag(name=name))
    db.session.flush()
    return {"tag": name}


def write_then_fail(name: str) -> None:
    db.session.add(Tag(name=name))
    db.session.flush()
    jobs.report_progress(0.9, "almost")
    raise ValueError("boom after writing")


def write_then_wait(name: str) -> str:
    db.session.add(Tag(name=name))
    db.session.flush()  # on SQLite this job now holds the write lock until it ends
    jobs.report_progress(0.6, "written, waiting")
    REACHED.set()
    assert RELEASE.wait(30)
    return "released"


def wait_for_release() -> str:
    jobs.report_progress(0.25, "waiting for the test")
    REACHED.set()
    assert RELEASE.wait(30)
    return "released"


def not_json() -> object:
    return object()


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "GEOCRM_JOB_MODULES": ("tests.",)}


def _tags() -> set[str]:
    db.session.commit()
    return set(db.session.scalars(select(Tag.name)))


# -- in-process -----------------------------------------------------------------------------
def test_thread_job_runs_and_records_result(app: Flask, world: World) -> None:
    """A job runs on the in-process pool: queued → done, progress 1, its JSON result stored."""
    job = jobs.submit_job("test", f"{HERE}:double", {"x": 21}, world.planner.id)
    assert job.backend == "thread"
    done = jobs.wait_for_job(job.id, timeout=30)
    assert done.status == JobStatus.DONE
    assert done.result == {"value": 42}
    assert done.progress == 1.0
    assert done.created_by_id == world.planner.id
    assert done.started_at is not None and done.finished_at is not None
    assert done.finished_at >= done.started_at >= done.created_at


def test_thread_job_commits_its_writes_with_done(app: Flask, world: World) -> None:
    """A job function does not commit: run_job commits its writes together with 'done'."""
    job = jobs.submit_job("test", f"{HERE}:write_tag", {"name": "kept"}, None)
    assert jobs.wait_for_job(job.id, timeout=30).status == JobStatus.DONE
    assert "kept" in _tags()


def test_failed_job_records_error_and_writes_nothing(app: Flask, world: World) -> None:
    """A job that raises after writing is 'failed' with the error, and its write is gone."""
    job = jobs.submit_job("test", f"{HERE}:write_then_fail", {"name": "half"}, None)
    done = jobs.wait_for_job(job.id, timeout=30)
    assert done.status == JobStatus.FAILED
    assert done.error == "ValueError: boom after writing"
    assert done.result is None
    assert "half" not in _tags()


def test_result_that_is_not_json_fails_the_job(app: Flask) -> None:
    """A result that cannot be stored fails the job (the worker survives)."""
    job = jobs.submit_job("test", f"{HERE}:not_json", {}, None)
    done = jobs.wait_for_job(job.id, timeout=30)
    assert done.status == JobStatus.FAILED
    assert "TypeError" in (done.error or "")


def test_progress_is_visible_while_the_job_runs(app: Flask) -> None:
    """report_progress writes on its own connection: a poller sees 'running', 0.25, message."""
    REACHED.clear()
    RELEASE.clear()
    job = jobs.submit_job("test", f"{HERE}:wait_for_release", {}, None)
    try:
        assert REACHED.wait(30)
        seen = jobs.wait_for_job(job.id, timeout=0)  # one fresh read, no waiting
        assert seen.status == JobStatus.RUNNING
        assert seen.progress == 0.25
        assert seen.message == "waiting for the test"
        assert jobs.job_json(seen)["finished"] is False
    finally:
        RELEASE.set()
    assert jobs.wait_for_job(job.id, timeout=30).result == "released"


def test_progress_after_the_job_has_written_is_seen_without_waiting_for_the_lock(
    app: Flask,
) -> None:
    """On SQLite a job that has written holds the one write lock: its progress cannot reach
    the table until it ends, so it is not waited for (it was, 5 s per report) and the poller
    of this process still sees it. On PostgreSQL it is simply in the table."""
    REACHED.clear()
    RELEASE.clear()
    job = jobs.submit_job("test", f"{HERE}:write_then_wait", {"name": "written"}, None)
    try:
        assert REACHED.wait(30)
        seen = jobs.job_json(jobs.wait_for_job(job.id, timeout=0))
        assert (seen["status"], seen["progress"], seen["message"]) == (
            "running", 0.6, "written, waiting")
    finally:
        RELEASE.set()
    done = jobs.wait_for_job(job.id, timeout=30)
    assert (done.status, done.result) == (JobStatus.DONE, "released")
    assert jobs.job_json(done)["progress"] == 1.0
    assert "written" in _tags()


def test_report_progress_outside_a_job_does_nothing(app: Flask) -> None:
    """Services may report progress when called directly: it is a no-op there."""
    jobs.report_progress(0.5, "nobody listens")
    assert jobs.current_job_id() is None


@pytest.mark.parametrize(
    ("func", "field"),
    [("not a path", "func"), ("os:system", "func"), ("geocrm.jobs", "func")],
)
def test_submit_refuses_bad_functions(app: Flask, func: str, field: str) -> None:
    """Only 'module:function' under geocrm (or configured test modules) may run as a job."""
    with pytest.raises(ValidationError) as err:
        jobs.submit_job("test", func, {}, None)
    assert err.value.field == field
    assert db.session.scalars(select(Job)).all() == []


def test_submit_refuses_kwargs_that_are_not_json(app: Flask) -> None:
    """Arguments travel as JSON (to another machine on RQ): anything else is refused up front."""
    with pytest.raises(ValidationError) as err:
        jobs.submit_job("test", f"{HERE}:double", {"x": object()}, None)
    assert err.value.field == "kwargs"


def test_job_json_is_scoped_to_its_creator(
    app: Flask, world: World, client: Any, auth: Any
) -> None:
    """/planning/jobs/<id>: the creator and admins see it; anyone else gets 404."""
    job = jobs.submit_job("test", f"{HERE}:double", {"x": 1}, world.planner.id)
    jobs.wait_for_job(job.id, timeout=30)
    auth.login(world.planner.email)
    body = client.get(f"/planning/jobs/{job.id}").get_json()
    assert body["status"] == "done" and body["result"] == {"value": 2}
    assert body["progress"] == 1.0
    auth.logout()
    auth.login(world.manager.email)
    assert client.get(f"/planning/jobs/{job.id}").status_code == 404
    auth.logout()
    auth.login(world.rep_west.email)
    assert client.get(f"/planning/jobs/{job.id}").status_code == 404
    auth.logout()
    auth.login(world.admin.email)
    assert client.get(f"/planning/jobs/{job.id}").get_json()["id"] == job.id


# -- Redis / RQ -----------------------------------------------------------------------------
def _redis_url() -> str:
    url = os.environ.get("GEOCRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        reason = f"RQ tests need Redis at {url} ({type(exc).__name__})"
        if os.environ.get("GEOCRM_REQUIRE_REDIS") == "1":
            pytest.fail(f"GEOCRM_REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture
def redis_queue(app_config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A unique queue on the real Redis, deleted afterwards; the app is configured for it."""
    from redis import Redis
    from rq import Queue

    url = _redis_url()
    name = f"geocrm-test-{uuid.uuid4().hex[:12]}"
    app_config.update({"GEOCRM_REDIS_URL": url, "GEOCRM_RQ_QUEUE": name})
    connection = Redis.from_url(url)
    yield {"url": url, "name": name, "connection": connection}
    Queue(name, connection=connection).delete(delete_jobs=True)
    connection.close()


def _burst(redis_queue: dict[str, Any]) -> None:
    from rq import Queue, SimpleWorker

    connection = redis_queue["connection"]
    queue = Queue(redis_queue["name"], connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=True)


def test_rq_job_waits_in_redis_until_a_worker_runs_it(
    redis_queue: dict[str, Any], app: Flask, world: World
) -> None:
    """With GEOCRM_REDIS_URL the job goes to Redis: queued until a worker runs it, then done."""
    from rq import Queue

    job = jobs.submit_job("test", f"{HERE}:double", {"x": 5}, world.planner.id)
    assert job.backend == "rq"
    queue = Queue(redis_queue["name"], connection=redis_queue["connection"])
    assert queue.count == 1
    assert jobs.wait_for_job(job.id, timeout=0).status == JobStatus.QUEUED
    _burst(redis_queue)
    assert queue.count == 0
    done = jobs.wait_for_job(job.id, timeout=0)
    assert done.status == JobStatus.DONE
    assert done.result == {"value": 10}


def test_rq_failed_job_records_error_and_writes_nothing(
    redis_queue: dict[str, Any], app: Flask, world: World
) -> None:
    """The all-or-nothing rule holds on the RQ path too."""
    job = jobs.submit_job("test", f"{HERE}:write_then_fail", {"name": "rq-half"}, None)
    _burst(redis_queue)
    done = jobs.wait_for_job(job.id, timeout=0)
    assert done.status == JobStatus.FAILED
    assert done.error == "ValueError: boom after writing"
    assert "rq-half" not in _tags()


def test_rq_unreachable_queue_fails_the_job_with_the_reason(
    app_config: dict[str, Any], engine_name: str
) -> None:
    """Redis down at submit time: the job is recorded as failed, saying it could not queue."""
    from geocrm import create_app

    app_config.update({"GEOCRM_REDIS_URL": "redis://127.0.0.1:1/0", "GEOCRM_RQ_QUEUE": "x"})
    app = create_app(app_config)
    with app.app_context():
        if engine_name == "sqlite":
            db.create_all()
        job = jobs.submit_job("test", f"{HERE}:double", {"x": 1}, None)
        assert job.status == JobStatus.FAILED
        assert (job.error or "").startswith("could not queue the job: ConnectionError")
        db.session.remove()
        db.engine.dispose()


def test_flask_worker_process_runs_the_job(
    redis_queue: dict[str, Any], app: Flask, database_url: str
) -> None:
    """`flask --app geocrm worker --burst` in another process (forking a work horse per job)
    picks the job from Redis and records it in the shared database."""
    job = jobs.submit_job("ping", "geocrm.jobs:ping", {}, None)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GEOCRM_REDIS_URL": redis_queue["url"],
        "SECRET_KEY": "worker-test",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "geocrm", "worker", "--burst",
         "--queue", redis_queue["name"]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    finished = jobs.wait_for_job(job.id, timeout=0)
    assert finished.status == JobStatus.DONE, finished.error
    assert finished.result["pid"] != os.getpid()


def test_worker_command_needs_redis(app: Flask) -> None:
    """Without GEOCRM_REDIS_URL the worker command says why it cannot run."""
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "GEOCRM_REDIS_URL is not set" in result.output


def test_an_in_process_job_left_by_a_stopped_process_fails_when_polled(app, world):
    """A job queued by a server process that no longer exists is failed with the reason the
    first time someone looks at it; one owned by a live process (this one) is left alone."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = jobs.OWNER.rpartition(":")[0]
    orphan = Job(kind="plan", func="geocrm.jobs:ping", kwargs={}, backend="thread",
                 status=JobStatus.RUNNING, owner=f"{host}:{gone}",
                 created_by_id=world.planner.id)
    alive = Job(kind="plan", func="geocrm.jobs:ping", kwargs={}, backend="thread",
                status=JobStatus.QUEUED, owner=jobs.OWNER, created_by_id=world.planner.id)
    elsewhere = Job(kind="plan", func="geocrm.jobs:ping", kwargs={}, backend="thread",
                    status=JobStatus.RUNNING, owner=f"another-host:{gone}",
                    created_by_id=world.planner.id)
    db.session.add_all([orphan, alive, elsewhere])
    db.session.commit()
    assert jobs.get_job_for(orphan.id, world.planner).status == JobStatus.FAILED
    assert "restarted" in orphan.error
    assert jobs.get_job_for(alive.id, world.planner).status == JobStatus.QUEUED
    assert jobs.get_job_for(elsewhere.id, world.planner).status == JobStatus.RUNNING
