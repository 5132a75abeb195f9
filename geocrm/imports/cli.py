"""``flask --app geocrm import-accounts FILE.csv``: the same import as the upload page."""

from __future__ import annotations

from pathlib import Path

import click

from geocrm.core.transaction import transaction
from geocrm.errors import ValidationError
from geocrm.geocoding.services import mark_pinless
from geocrm.imports.services import check_guess, guess_mapping, import_accounts, read_table


@click.command("import-accounts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default="import", show_default=True,
              help="Name of the system the file comes from; external ids are unique per source.")
@click.option("--map", "maps", multiple=True, metavar="FIELD=HEADER",
              help="Map a column, e.g. --map name=Company (repeatable; others are guessed).")
@click.option("--snapshot", is_flag=True,
              help="The file is the whole source: flag accounts of this source it lacks.")
@click.option("--encoding", help="Read a CSV file in this encoding (cp949, cp932, utf-8 …) "
              "instead of the detected one.")
@click.option("--crs", help="Coordinate system (EPSG code) of columns mapped as x and y; "
              "required with them, never guessed.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--reject-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write rejected rows (row, field, reason, value) to this CSV file.")
def import_accounts_command(
    path: Path, source: str, maps: tuple[str, ...], snapshot: bool, encoding: str | None,
    crs: str | None, dry_run: bool, reject_report: Path | None,
) -> None:
    """Import accounts from a CSV or .xlsx file (all or nothing: any rejected row writes
    nothing). Mapping x/y columns needs --crs."""
    data = path.read_bytes()
    try:
        mapping = None
        if maps:
            headers, rows = read_table(data, filename=path.name, encoding=encoding)
            guess = check_guess(guess_mapping(headers), headers, rows)
            for why in guess.reasons.values():
                click.echo(f"note: {why}")
            mapping = guess.mapping
            for item in maps:
                target, sep, header = item.partition("=")
                if not sep:
                    raise click.BadParameter(f"{item!r} is not FIELD=HEADER", param_hint="--map")
                mapping[target.strip()] = header.strip()
        with transaction():  # the command owns the transaction; the import only flushes
            result = import_accounts(data, filename=path.name, source=source,
                                     mapping=mapping, snapshot=snapshot, dry_run=dry_run,
                                     encoding=encoding, crs=crs)
    except ValidationError as err:
        raise click.ClickException(err.message) from err
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo("mapping: " + ", ".join(f"{k}={v}" for k, v in result.mapping.items()))
    for d in result.duplicates[:20]:
        click.echo(f"duplicate: row {d.row} {d.name!r} is like {d.other} ({d.rule}): {d.outcome}")
    if len(result.duplicates) > 20:
        click.echo(f"... and {len(result.duplicates) - 20} more duplicates")
    for c in result.conflicts[:20]:
        click.echo(f"conflict: row {c.row} {c.name!r} {c.field}: the account keeps "
                   f"{c.current!r}, the file says {c.imported!r}")
    if len(result.conflicts) > 20:
        click.echo(f"... and {len(result.conflicts) - 20} more conflicts (see /imports/conflicts)")
    if reject_report is not None and result.rejects:
        reject_report.write_text(result.reject_report_csv(), encoding="utf-8")
        click.echo(f"reject report: {reject_report}")
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    if result.status == "rejected":
        for r in result.rejects[:20]:
            click.echo(f"rejected: row {r.row}, {r.field}: {r.reason}", err=True)
        raise click.ClickException(f"{path.name} rejected, nothing imported ({counts}).")
    verb = "would be" if dry_run else "was"
    click.echo(f"{path.name} {verb} {result.status}: {counts}.")
    if not dry_run and result.status == "committed":
        with transaction():
            waiting = mark_pinless()
        if waiting:
            click.echo(f"{waiting} accounts without coordinates wait for the geocoder: "
                       f"`flask geocode run` places them from their addresses.")
