"""``flask --app geocrm import-accounts FILE.csv`` (placeholder until imports land)."""

from __future__ import annotations

import click


@click.command("import-accounts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_accounts_command(path: str) -> None:
    """Import accounts from a CSV file."""
    raise click.ClickException("not implemented yet")
