"""``flask --app geocrm ...`` commands: thin wrappers over the services, one list of them.

Each command is an entry point: it calls services, which flush, and commits (or lets the
error roll the session back) itself.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from geocrm.api.tokens import create_token_command
from geocrm.api.webhooks_api import webhooks_command
from geocrm.auth.services import create_user
from geocrm.core.transaction import transaction
from geocrm.crm.digest import digest_command
from geocrm.demo import demo_command
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.geocoding.cli import geocode_command
from geocrm.imports.cli import import_accounts_command
from geocrm.jobs import DEFAULT_QUEUE
from geocrm.notify.cli import notify_command
from geocrm.people.cli import users_command
from geocrm.region.cli import region_command


def register_cli(app: Flask) -> None:
    """Attach the commands to ``app``."""
    notify_command.add_command(digest_command)  # `notify digest` reads the CRM: a feature
    for command in (
        create_user_command,
        init_db_command,
        demo_command,
        import_accounts_command,
        create_token_command,
        region_command,
        users_command,
        notify_command,
        geocode_command,
        worker_command,
        webhooks_command,
    ):
        app.cli.add_command(command)


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "manager", "planner", "rep"]), required=True)
@click.password_option()
def create_user_command(email: str, name: str, role: str, password: str) -> None:
    """Create a user (asks for the password)."""
    try:
        with transaction():
            user = create_user(email, name, password, role)
    except ValidationError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Created {user.email} ({user.role.value}).")


@click.command("init-db")
def init_db_command() -> None:
    """Create the schema by running the migrations (same as ``flask db upgrade``)."""
    upgrade()
    click.echo("Database is at the latest schema.")


# -- the job worker (geocrm.jobs' RQ backend) -------------------------------------------------
def _worker_class() -> type:
    from rq import Worker

    class AppWorker(Worker):  # type: ignore[misc]
        """An RQ worker whose forked work horse gets fresh database connections."""

        def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
            # The horse is a fork: never reuse the parent's pooled connections.
            db.engine.dispose(close=False)
            super().main_work_horse(*args, **kwargs)

    return AppWorker


@click.command("worker")
@click.option("--queue", "queue_name", default=None, help="Queue name (default GEOCRM_RQ_QUEUE).")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process (no fork per job).")
def worker_command(queue_name: str | None, burst: bool, simple: bool) -> None:
    """Run background jobs from the Redis queue (needs GEOCRM_REDIS_URL).

    Each job is ``geocrm.worker.execute(job_id)`` in this app's context.
    """
    from redis import Redis
    from rq import Queue, SimpleWorker

    url = current_app.config.get("GEOCRM_REDIS_URL") or ""
    if not url:
        raise click.ClickException("GEOCRM_REDIS_URL is not set: jobs run in-process instead.")
    name = queue_name or current_app.config.get("GEOCRM_RQ_QUEUE") or DEFAULT_QUEUE
    connection = Redis.from_url(url)
    cls = SimpleWorker if simple else _worker_class()
    worker = cls([Queue(name, connection=connection)], connection=connection)
    click.echo(f"worker on queue {name!r} ({'burst' if burst else 'until stopped'})")
    worker.work(burst=burst, with_scheduler=False)
