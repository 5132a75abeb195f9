"""The region load as a background job (the admin page's upload): progress, then the result.

Like every job function it does not commit (the runner does: of a region, only what the
receivers of ``region_loaded`` write); the
uploaded file is removed whether the load worked or not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from geocrm.i18n import progress_form
from geocrm.jobs import report_progress
from geocrm.region.services import demo_extract, load_region, region_loaded


def load_region_job(path: str | None = None, name: str | None = None,
                    demo: bool = False) -> dict[str, Any]:
    """Build the road graph of the uploaded extract at ``path`` (or the demo extract)."""
    source = demo_extract() if demo else Path(str(path))
    report_progress(0.05, reading_message(name or source.name))
    try:
        meta = load_region(source, name=name or ("Helsinki (demo)" if demo else None))
    finally:
        if not demo:
            source.unlink(missing_ok=True)
    report_progress(0.95, saved_message(meta))
    region_loaded.send(current_app._get_current_object(), meta=meta)  # the runner commits
    return meta


# The job's progress is stored in English (logs, the JSON job API); the region page puts it
# into its reader's language through geocrm.i18n.progress_text, taught each form right here.
def reading_message(name: str) -> str:
    return f"reading {name}: the road graph, the basemap and the addresses"


progress_form(r"reading (?P<name>.+): the road graph, the basemap and the addresses",
               lambda m: _("reading %(name)s: the road graph, the basemap and the addresses",
                           name=m["name"]))


def saved_message(meta: dict[str, Any]) -> str:
    return (f"saved: {meta['ways']} drivable ways, {meta['road_km']} km of road, "
            f"basemap {meta['basemap']['tiles']} tiles "
            f"({meta['basemap']['bytes'] / 1e6:.1f} MB), "
            f"{meta['addresses']['addresses']} addresses")


progress_form(r"saved: (?P<ways>\d+) drivable ways, (?P<km>[\d.]+) km of road, basemap "
               r"(?P<tiles>\d+) tiles \((?P<mb>[\d.]+) MB\), (?P<addresses>\d+) addresses",
               lambda m: _("saved: %(ways)s drivable ways, %(km)s km of road, a basemap of "
                           "%(tiles)s tiles (%(mb)s MB), %(addresses)s addresses",
                           ways=m["ways"], km=m["km"], tiles=m["tiles"], mb=m["mb"],
                           addresses=m["addresses"]))
