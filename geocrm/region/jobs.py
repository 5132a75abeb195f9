"""The region load as a background job (the admin page's upload): progress, then the result.

Like every job function it does not commit (the runner does: of a region, only what the
receivers of ``region_loaded`` write); the
uploaded file is removed whether the load worked or not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

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
# into its reader's language (geocrm.region.views.region_progress reads these two forms).
def reading_message(name: str) -> str:
    return f"reading {name}: the road graph, the basemap and the addresses"


def saved_message(meta: dict[str, Any]) -> str:
    return (f"saved: {meta['ways']} drivable ways, {meta['road_km']} km of road, "
            f"basemap {meta['basemap']['tiles']} tiles "
            f"({meta['basemap']['bytes'] / 1e6:.1f} MB), "
            f"{meta['addresses']['addresses']} addresses")
