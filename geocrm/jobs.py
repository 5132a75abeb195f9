"""Background jobs: one API, two backends, one status table.

``submit_job(kind, "module:function", kwargs, user_id)`` stores a :class:`Job` row and hands
its id to a backend:

* **in-process** (default): a small thread pool inside the web process; each job runs in its
  own application context (so its own database session). No service to install, which is
  what ``make run`` and the tests want.
* **RQ** (``GEOCRM_REDIS_URL`` set): the id goes onto a Redis queue
  (``GEOCRM_RQ_QUEUE``, default ``geocrm``) and separate worker processes run it —
  ``flask --app geocrm worker`` (app context included), or a plain ``rq worker`` (the job
  then builds the app from the environment); the command is in :mod:`geocrm.cli`, the function
  the queue names is :func:`geocrm.worker.execute`. This is the scale-out path.

Either way the job function runs through :func:`run_job`, which records status, progress,
result and error in the ``jobs`` table, so the UI polls the same JSON on both backends.

The transaction rule: a job function *does not commit*. :func:`run_job` commits its writes
together with the ``done`` status, or rolls all of them back and records ``failed``: a job
that breaks halfway never leaves half a plan behind. The runner enforces it: a commit from
inside a job function raises (and so fails the job). The job's own row is the runner's
book-keeping: :func:`submit_job` commits it (a worker in another thread or process must see
it) and polling commits a job found orphaned. :func:`report_progress` writes on its own
connection, so progress shows while the job's own transaction is still open. On SQLite a job
that has written holds the database's one write lock until it ends: the progress row then
cannot be written, so it is tried for at most ``PROGRESS_LOCK_WAIT_MS`` (not the 5 s every
other writer waits) and kept in this process, where pollers of the in-process backend read it.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import logging
import os
import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import event, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from geocrm.errors import GeocrmError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import progress_form
from geocrm.models import Role, User, utcnow
from geocrm.models.planning import Job, JobStatus

log = logging.getLogger(__name__)

EXTENSION_KEY = "geocrm_jobs"
DEFAULT_QUEUE = "geocrm"
FUNC_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_current_job: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "geocrm_current_job", default=None
)
# True while a job function runs: its session must not commit (run_job does).
_in_job_body: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "geocrm_in_job_body", default=False
)


class JobCommitError(RuntimeError):
    """A job function tried to commit: only :func:`run_job` commits a job's writes."""


@event.listens_for(Session, "before_commit")
def _no_commit_inside_a_job(session: Session) -> None:
    if _in_job_body.get():
        raise JobCommitError(
            "a job function must not commit: run_job commits its writes with the job's status"
        )


# -- public API -----------------------------------------------------------------------------
def submit_job(kind: str, func: str, kwargs: dict[str, Any], user_id: int | None) -> Job:
    """Record a job and queue it; returns the (committed) :class:`Job` row.

    Commits the session: the worker, in another thread or process, must see the row. If the
    queue cannot be reached the job is returned already ``failed``, with the reason.
    """
    if not kind or len(kind) > 40:
        raise ValidationError("kind", "must be 1 to 40 characters")
    _check_func(func)
    try:
        json.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        raise ValidationError("kwargs", f"must be JSON-serialisable ({exc})") from exc
    backend = _backend(current_app._get_current_object())  # type: ignore[attr-defined]
    job = Job(
        kind=kind,
        func=func,
        kwargs=kwargs,
        backend=backend.name,
        owner=OWNER if backend.name == "thread" else None,
        status=JobStatus.QUEUED,
        progress=0.0,
        message="queued",
        created_by_id=user_id,
    )
    db.session.add(job)
    db.session.commit()
    try:
        backend.enqueue(job.id)
    except Exception as exc:  # noqa: BLE001 - any queue failure is recorded on the job
        log.exception("could not queue job %s", job.id)
        job.status = JobStatus.FAILED
        job.error = f"could not queue the job: {type(exc).__name__}: {exc}"
        job.finished_at = utcnow()
        db.session.commit()
    return job


#: SQLite: how long a progress write waits for the write lock a running job may hold.
PROGRESS_LOCK_WAIT_MS = 50
#: The latest progress of the jobs running in this process: (fraction, message) by job id.
_live_progress: dict[int, tuple[float, str]] = {}


def _write_progress(stmt: Any) -> None:
    """The progress update on a connection of its own, committed at once."""
    with db.engine.begin() as conn:
        if conn.dialect.name != "sqlite":
            conn.execute(stmt)
            return
        waited = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.exec_driver_sql(f"PRAGMA busy_timeout={PROGRESS_LOCK_WAIT_MS}")
        try:
            conn.execute(stmt)
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(waited or 0)}")


def report_progress(fraction: float, message: str) -> None:
    """Inside a job function: record how far it got (0..1) and what it is doing.

    Outside a job it does nothing, so a service that reports progress can also be called
    directly (a CLI command, a test). Never raises: progress is worth less than the job.
    """
    job_id = _current_job.get()
    if job_id is None:
        return
    fraction = min(1.0, max(0.0, float(fraction)))
    values = {"progress": fraction, "message": str(message)[:300]}
    _live_progress[job_id] = (fraction, values["message"])
    stmt = update(Job).where(Job.id == job_id).values(**values)
    try:
        if isinstance(db.engine.pool, StaticPool):
            # One shared in-memory connection: a second "connection" is the same one, and
            # committing it would commit the job's own writes early. Readers share it anyway.
            db.session.execute(stmt)
            return
        _write_progress(stmt)
    except SQLAlchemyError:
        log.info("progress of job %s kept in this process only (database busy)", job_id,
                 exc_info=True)


# A job's progress is stored in English; pages show it through geocrm.i18n.progress_text.
progress_form(r"pinging", lambda m: _("pinging"))


def current_job_id() -> int | None:
    """The id of the job running in this context, if any."""
    return _current_job.get()


def job_json(job: Job) -> dict[str, Any]:
    """What ``/planning/jobs/<id>`` answers: the same shape on both backends."""

    def iso(value: Any) -> str | None:
        return value.isoformat() + "Z" if value else None

    progress, message = float(job.progress or 0.0), job.message
    live = _live_progress.get(job.id) if job.status == JobStatus.RUNNING else None
    if live is not None and live[0] >= progress:  # written here, not yet in the database
        progress, message = live
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status.value,
        "finished": job.finished,
        "progress": round(progress, 4),
        "message": message,
        "result": job.result,
        "error": job.error,
        "backend": job.backend,
        "created_by": job.created_by_id,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


def get_job_for(job_id: int, user: User) -> Job:
    """The job if ``user`` started it (admins see every job); a 404 otherwise."""
    job = db.session.get(Job, job_id)
    if job is None or (user.role != Role.ADMIN and job.created_by_id != user.id):
        raise NotFoundError(_("No job %(id)s.", id=job_id))
    reap_if_orphaned(job)
    return job


OWNER = f"{socket.gethostname()}:{os.getpid()}"[:80]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def reap_if_orphaned(job: Job) -> bool:
    """Fail an in-process job whose server process stopped before it finished.

    In-process jobs live in the threads of the process that queued them; after a restart
    nobody will ever run or finish them, and a page polling one would wait forever. Only a
    job owned by a process on this host that no longer exists is failed (another host's, or
    an RQ job, is left to its own worker). Commits when it changes the job.
    """
    if job.backend != "thread" or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return False
    host, _, pid = (job.owner or "").rpartition(":")
    if not pid.isdigit() or host != socket.gethostname()[:80 - len(pid) - 1] or (
            int(pid) == os.getpid() or _process_alive(int(pid))):
        return False
    job.status = JobStatus.FAILED
    job.error = "interrupted: the server restarted before this job finished; run it again"
    job.finished_at = utcnow()
    db.session.commit()
    return True


def wait_for_job(job_id: int, timeout: float = 60.0, poll: float = 0.05) -> Job:
    """Block until the job has finished (either backend) or ``timeout`` passes; returns it.

    For the CLI and tests. Reads the row on a fresh transaction each time, so it sees the
    worker's commits.
    """
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        db.session.commit()  # end the read transaction so the next read is fresh
        job = db.session.get(Job, job_id)
        if job is None:
            raise NotFoundError(_("No job %(id)s.", id=job_id))
        if job.finished:
            # In-process: also wait for the worker thread to hand its connection back.
            backend = current_app.extensions.get(EXTENSION_KEY)
            if isinstance(backend, ThreadBackend):
                backend.wait_one(job_id, max(0.0, deadline - time.monotonic()) + 5.0)
            return job
        if time.monotonic() >= deadline:
            return job
        time.sleep(poll)


def drain(app: Flask | None = None, timeout: float | None = None) -> None:
    """Wait for every in-process job submitted so far (no-op on the RQ backend)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.extensions.get(EXTENSION_KEY)
    if isinstance(backend, ThreadBackend):
        backend.wait(timeout)


def ping(delay: float = 0.0) -> dict[str, Any]:
    """A job that proves a worker is alive: reports progress, answers with its process id."""
    import os
    import socket

    report_progress(0.5, "pinging")
    if delay > 0:
        time.sleep(min(float(delay), 30.0))
    return {"pid": os.getpid(), "host": socket.gethostname()}


# -- running a job --------------------------------------------------------------------------
def run_job(job_id: int) -> None:
    """Run one job in the current app context and record how it ended.

    Idempotent for finished jobs (a redelivered RQ message does nothing). The function's
    pending writes are committed with the ``done`` status, or rolled back on failure.
    """
    job = db.session.get(Job, job_id)
    if job is None:
        log.error("job %s does not exist (database mismatch between web and worker?)", job_id)
        return
    if job.finished:
        return
    job.status = JobStatus.RUNNING
    job.started_at = utcnow()
    job.message = "started"
    func, kwargs = job.func, dict(job.kwargs or {})
    db.session.commit()
    token = _current_job.set(job_id)
    try:
        body = _in_job_body.set(True)
        try:
            result = _resolve(func)(**kwargs)
        finally:
            _in_job_body.reset(body)
        json.dumps(result)  # a result that cannot be stored fails the job, not the worker
        job = db.session.get(Job, job_id)
        assert job is not None
        job.status = JobStatus.DONE
        job.progress = 1.0
        job.message = "done"
        job.result = result
        job.finished_at = utcnow()
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, func)
        _record_failure(job_id, exc)
    finally:
        _current_job.reset(token)
        _live_progress.pop(job_id, None)


def _record_failure(job_id: int, exc: BaseException) -> None:
    if isinstance(exc, GeocrmError):
        error = exc.message
    else:
        error = f"{type(exc).__name__}: {exc}"
    job = db.session.get(Job, job_id)
    if job is None:
        return
    job.status = JobStatus.FAILED
    job.error = error[:4000]
    job.message = "failed"
    job.finished_at = utcnow()
    db.session.commit()


def _check_func(func: str) -> None:
    if not FUNC_RE.match(func or ""):
        raise ValidationError("func", "must be 'module:function'")
    module = func.split(":", 1)[0]
    allowed = ("geocrm.", *current_app.config.get("GEOCRM_JOB_MODULES", ()))
    if not any(module == p.rstrip(".") or module.startswith(p) for p in allowed):
        raise ValidationError("func", f"module {module!r} is not allowed to run as a job")


def _resolve(func: str) -> Callable[..., Any]:
    _check_func(func)
    module_name, name = func.split(":", 1)
    target = getattr(importlib.import_module(module_name), name, None)
    if not callable(target):
        raise ValidationError("func", f"{func} is not a function")
    return target  # type: ignore[no-any-return]


# -- backends -------------------------------------------------------------------------------
class ThreadBackend:
    """Jobs on a thread pool inside this process, each in its own app context."""

    name = "thread"

    def __init__(self, app: Flask, workers: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="geocrm-job")
        self.futures: dict[int, Future[None]] = {}

    def enqueue(self, job_id: int) -> None:
        self.futures = {k: f for k, f in self.futures.items() if not f.done()}
        self.futures[job_id] = self.executor.submit(self._run, job_id)

    def _run(self, job_id: int) -> None:
        with self.app.app_context():
            try:
                run_job(job_id)
            finally:
                db.session.remove()

    def wait(self, timeout: float | None = None) -> None:
        wait_futures(list(self.futures.values()), timeout=timeout)

    def wait_one(self, job_id: int, timeout: float) -> None:
        future = self.futures.get(job_id)
        if future is not None:
            wait_futures([future], timeout=timeout)


class RqBackend:
    """Jobs on a Redis-backed RQ queue, run by separate worker processes."""

    name = "rq"

    def __init__(self, url: str, queue: str, timeout: int) -> None:
        self.url = url
        self.queue_name = queue
        self.timeout = timeout

    def queue(self) -> Any:
        from redis import Redis
        from rq import Queue

        return Queue(self.queue_name, connection=Redis.from_url(self.url))

    def enqueue(self, job_id: int) -> None:
        self.queue().enqueue(
            "geocrm.worker.execute",
            job_id,
            job_timeout=self.timeout,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=f"geocrm job {job_id}",
        )


def _backend(app: Flask) -> ThreadBackend | RqBackend:
    """The app's backend, chosen once from its settings."""
    backend = app.extensions.get(EXTENSION_KEY)
    if backend is None:
        url = app.config.get("GEOCRM_REDIS_URL") or ""
        if url:
            backend = RqBackend(
                url,
                app.config.get("GEOCRM_RQ_QUEUE") or DEFAULT_QUEUE,
                int(app.config.get("GEOCRM_JOB_TIMEOUT", 1800)),
            )
        else:
            backend = ThreadBackend(app, int(app.config.get("GEOCRM_JOB_THREADS", 1)))
        app.extensions[EXTENSION_KEY] = backend
    return backend
