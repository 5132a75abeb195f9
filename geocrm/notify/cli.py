"""``flask --app geocrm notify ...``: send what is due, queue the morning digest, try mail."""

from __future__ import annotations

import click
from sqlalchemy import select

from geocrm.core.transaction import transaction
from geocrm.extensions import db
from geocrm.models import User
from geocrm.notify import dispatch, outbox


@click.group("notify")
def notify_command() -> None:
    """Mail and push notifications."""


@notify_command.command("send")
def send() -> None:
    """Send every message that is due (cron: every few minutes, as a safety net)."""
    total = {"sent": 0, "retry": 0, "failed": 0}
    while True:
        with transaction():
            counts = dispatch.send_due()
        for key, value in counts.items():
            total[key] += value
        if sum(counts.values()) < dispatch.BATCH:
            break
    click.echo(f"sent {total['sent']}, to retry {total['retry']}, failed {total['failed']}")


@notify_command.command("test")
@click.argument("email")
def test(email: str) -> None:
    """Queue a test message to EMAIL's person on every channel they have, then send."""
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise click.ClickException(f"No user {email}.")
    with transaction():
        rows = outbox.queue(user, "test", lambda: ("GeoCRM test", "It works."))
    if not rows:
        raise click.ClickException("Nothing to send: set GEOCRM_SMTP_HOST, or register a phone.")
    with transaction():
        counts = dispatch.send_due()
    click.echo(f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}")
