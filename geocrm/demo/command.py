"""``flask --app geocrm demo``: the command that loads the demo company (it commits, through
:func:`~geocrm.demo.loader.load_demo`) and prints its logins."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy import func, select

from geocrm.core.geocoding import addresses_path
from geocrm.demo.loader import DEMO_PASSWORD, load_demo
from geocrm.demo.places import ATTRIBUTION, helsinki_extract
from geocrm.extensions import db
from geocrm.geocoding.engine import build_address_index, engine_name
from geocrm.models import User


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--reset", is_flag=True, help="Delete ALL rows first, then load the demo.")
def demo_command(if_empty: bool, reset: bool) -> None:
    """Load the demo company: real central-Helsinki places, 7 territories, 9 users, history."""
    users = db.session.scalar(select(func.count(User.id))) or 0
    if users and if_empty:
        click.echo("The database already has users; demo data not loaded.")
        return
    if users and not reset:
        raise click.ClickException(
            "The database is not empty. Use --reset to delete everything and load the demo."
        )
    started = datetime.now(UTC)
    result = load_demo(reset=reset)
    took = (datetime.now(UTC) - started).total_seconds()
    click.echo(
        f"Found {result['places']} named places; loaded {result['accounts']} accounts "
        f"in {result['territories']} territories, "
        f"{result['interactions']} interactions, {result['tasks']} tasks, "
        f"{result['contacts']} contacts, {result['opportunities']} opportunities "
        f"in {took:.1f} s; {result['addresses_from_pins']} accounts without a street address "
        f"got one from their pin (reverse geocoding)."
    )
    if engine_name() != "off" and not addresses_path().exists():
        index = build_address_index(helsinki_extract(), name="Helsinki (demo)", country="FI")
        click.echo(f"The region's address index is now the bundled Helsinki extract "
                   f"({index.addresses} addresses): accounts are geocoded from it.")
    click.echo(ATTRIBUTION)
    click.echo("")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, where in result["logins"]:
        click.echo(f"  {email:<28} {role:<8} {where}")
