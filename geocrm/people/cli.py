"""``flask --app geocrm users ...``: the people pages' actions for a terminal (and scripts)."""

from __future__ import annotations

import click
from flask import url_for
from sqlalchemy import select

from geocrm.core.transaction import transaction
from geocrm.errors import GeocrmError
from geocrm.extensions import db
from geocrm.models import Territory, User
from geocrm.people import services


def _user(email: str) -> User:
    user = db.session.scalars(
        select(User).where(User.email == email.strip().lower())
    ).one_or_none()
    if user is None:
        raise click.ClickException(f"No user {email}.")
    return user


def _link(token: str) -> str:
    # Outside a request url_for needs SERVER_NAME; fall back to the path alone.
    try:
        return url_for("people.join", token=token, _external=True)
    except RuntimeError:
        return f"/people/join/{token}"


@click.group("users")
def users_command() -> None:
    """Invite, deactivate and reset people."""


@users_command.command("list")
def list_users() -> None:
    """Everyone, with role, status and territories."""
    for u in services.list_people():
        names = ", ".join(t.name for t in u.territories)
        state = "active" if u.active else "deactivated"
        click.echo(f"{u.email}\t{u.name}\t{u.role.value}\t{state}\t{names}")


@users_command.command("invite")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "manager", "planner", "rep"]), default="rep")
@click.option("--territory", "territories", multiple=True, help="Territory name (repeatable).")
def invite(email: str, name: str, role: str, territories: tuple[str, ...]) -> None:
    """Print a one-time link for EMAIL to join."""
    try:
        with transaction():
            ids = []
            for t in territories:
                found = db.session.scalars(select(Territory).where(Territory.name == t)).first()
                if found is None:
                    raise click.ClickException(f"No territory {t!r}.")
                ids.append(found.id)
            issued = services.invite(_system_user(), email, name, role, ids)
    except GeocrmError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Invitation for {issued.link.email} ({role}), valid {services.INVITE_DAYS} days:")
    click.echo(_link(issued.token))


@users_command.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """End EMAIL's access now (sessions and API tokens); their records stay."""
    try:
        with transaction():
            user = services.set_active(_system_user(), _user(email).id, False)
    except GeocrmError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Deactivated {user.email}.")


@users_command.command("reactivate")
@click.argument("email")
def reactivate(email: str) -> None:
    """Let EMAIL sign in again."""
    with transaction():
        user = services.set_active(_system_user(), _user(email).id, True)
    click.echo(f"Reactivated {user.email}.")


@users_command.command("reset-password")
@click.argument("email")
def reset_password(email: str) -> None:
    """Print a one-time link for EMAIL to choose a new password."""
    try:
        with transaction():
            issued = services.reset_link(_system_user(), _user(email).id)
    except GeocrmError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Password reset link for {email}, valid {services.RESET_HOURS} hours:")
    click.echo(_link(issued.token))


class _Terminal:
    """The actor of CLI changes in the audit trail: nobody signed in (user_id NULL)."""

    id = None
    is_authenticated = False


def _system_user() -> User:
    return _Terminal()  # type: ignore[return-value]
