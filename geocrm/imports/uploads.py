"""Keeping an upload between the mapping step and the import, safely.

Files live in ``instance/uploads`` under a random token the server made; the client only
ever sends the token back, which must match ``[0-9a-f]{32}`` and belong to the same user.
Uploads older than a day are removed whenever a new one arrives.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

from flask import current_app

from geocrm.errors import NotFoundError

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
MAX_AGE_S = 24 * 3600


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(data: bytes, meta: dict[str, Any]) -> str:
    """Store an upload and its metadata; returns the token."""
    folder = _folder()
    now = time.time()
    for old in folder.glob("*"):
        if now - old.stat().st_mtime > MAX_AGE_S:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    (folder / f"{token}.csv").write_bytes(data)
    (folder / f"{token}.json").write_text(json.dumps(meta))
    return token


def load(token: str, user_id: int) -> tuple[bytes, dict[str, Any]]:
    """The upload for ``token`` if it is this user's; 404 otherwise."""
    if not _TOKEN.match(token or ""):
        raise NotFoundError("No such upload.")
    folder = _folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.csv").read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError("This upload has expired or was already imported.") from exc
    if meta.get("user_id") != user_id:
        raise NotFoundError("No such upload.")
    return data, meta


def save_rejects(token: str, report: str) -> None:
    (_folder() / f"{token}.rejects.csv").write_text(report, encoding="utf-8")


def load_rejects(token: str, user_id: int) -> str:
    load(token, user_id)  # ownership check
    path = _folder() / f"{token}.rejects.csv"
    if not path.exists():
        raise NotFoundError("No reject report for this upload.")
    return path.read_text(encoding="utf-8")


def discard(token: str) -> None:
    for suffix in (".csv", ".json", ".rejects.csv"):
        (_folder() / f"{token}{suffix}").unlink(missing_ok=True)
