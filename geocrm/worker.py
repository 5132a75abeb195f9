"""What an RQ worker runs: the process side of :mod:`geocrm.jobs`, an entry point like a request.

:mod:`geocrm.jobs` is the queue the features submit to (the RQ backend enqueues
``geocrm.worker.execute`` by name); ``flask --app geocrm worker`` (:mod:`geocrm.cli`) or a plain
``rq worker`` takes the ids off the queue and calls :func:`execute`. It builds an app with
:func:`geocrm.create_app` when there is none, so nothing inside the app imports this module:
it sits above everything, like a WSGI file.
"""

from __future__ import annotations

from flask import has_app_context

from geocrm import create_app
from geocrm.extensions import db
from geocrm.jobs import run_job


def execute(job_id: int) -> None:
    """Run the job in the worker's app context, or build one.

    ``flask --app geocrm worker`` provides the context; a plain ``rq worker`` does not, so
    the app is then built from the environment (``DATABASE_URL`` and friends).
    """
    if has_app_context():
        run_job(job_id)
        return
    app = create_app()
    with app.app_context():
        try:
            run_job(job_id)
        finally:
            db.session.remove()
            db.engine.dispose()
