"""Where the shared real data lives (never copied into the repo).

``GEOCRM_SHARED_DATA`` wins; otherwise ``../shared/data`` beside the checkout, then
``/work/shared/data``, so a clone made elsewhere (CI's scratch copy) still finds it. Tests that
need it skip cleanly when none exists.
"""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [
    Path(os.environ["GEOCRM_SHARED_DATA"]) if os.environ.get("GEOCRM_SHARED_DATA") else None,
    Path(__file__).resolve().parents[1].parent / "shared" / "data",
    Path("/work/shared/data"),
]


def shared_data(*parts: str) -> Path:
    """The first existing candidate joined with ``parts`` (the last candidate if none exist)."""
    for base in _CANDIDATES:
        if base is not None and (base / Path(*parts)).exists():
            return base / Path(*parts)
    return Path("/work/shared/data", *parts)
