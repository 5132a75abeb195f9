"""``flask --app geocrm demo`` (placeholder until the demo module lands)."""

from __future__ import annotations

import click


@click.command("demo")
def demo_command() -> None:
    """Load the demo company."""
    raise click.ClickException("not implemented yet")
