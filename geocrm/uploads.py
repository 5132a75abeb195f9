"""The one place uploaded files wait between the step that receives them and the one that uses them.

A CSV import is uploaded, mapped, then imported; a territory file is uploaded, previewed,
then applied. Both keep the file on disk under a random token the server made; the client
only ever sends the token back, which must match ``[0-9a-f]{32}`` and belong to the same
user. Each kind of upload has its own folder under ``instance/uploads/<kind>/`` and its own
retention rule, applied whenever that kind receives a new upload.

Why one store: there used to be two, and the CSV store's cleanup globbed ``uploads/*``, which
includes the territory store's folder; once that folder was a day old every CSV upload failed
with ``IsADirectoryError``. Here a store only ever removes regular files named by one of its
own tokens, in its own folder.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from geocrm.errors import NotFoundError

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: A file of the store: the token, then a suffix such as ``.csv`` or ``.meta.json``.
_TOKEN_FILE = re.compile(r"^[0-9a-f]{32}\.[A-Za-z0-9.]+$")
_META = ".meta.json"
DAY_S = 24 * 3600
CHUNK = 2**20  # bytes copied at a time from a request to disk
#: What :meth:`UploadStore.load` says once an upload is gone, by the store's ``used_word``.
_GONE = {
    "used": _l("This upload has expired or was already used."),
    "imported": _l("This upload has expired or was already imported."),
    "applied": _l("This upload has expired or was already applied."),
}


@dataclass(frozen=True)
class UploadStore:
    """Uploads of one ``kind`` (a folder name) kept for at most ``max_age_s`` seconds."""

    kind: str
    max_age_s: float = DAY_S
    #: What :meth:`load` says once the upload is gone ("imported", "applied").
    used_word: str = "used"

    def folder(self) -> Path:
        """``instance/uploads/<kind>``, created on first use."""
        folder = Path(current_app.instance_path) / "uploads" / self.kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def purge(self, now: float | None = None) -> int:
        """Remove this kind's files older than its retention; returns how many went.

        Only regular files named ``<token>.<suffix>`` are considered, so a sub-folder or a
        file somebody else put here is never touched.
        """
        now = time.time() if now is None else now
        removed = 0
        # Also the loose files of the old one-folder layout (``uploads/<token>.csv``), which
        # nothing else would ever remove.
        legacy = [p for p in self.folder().parent.iterdir() if p.is_file()]
        for path in [*self.folder().iterdir(), *legacy]:
            if not _TOKEN_FILE.match(path.name) or not path.is_file() or path.is_symlink():
                continue
            try:
                if now - path.stat().st_mtime > self.max_age_s:
                    path.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:  # another request purged it first
                continue
        return removed

    def save(self, data: bytes, meta: dict[str, Any], *, suffix: str) -> str:
        """Store ``data`` and its ``meta`` (which must name ``user_id``); returns the token.

        Saving first applies the retention rule, so abandoned uploads do not pile up.
        """
        if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
            raise ValueError(f"bad upload suffix {suffix!r}")
        self.purge()
        token = secrets.token_hex(16)
        folder = self.folder()
        (folder / f"{token}{suffix}").write_bytes(data)
        (folder / f"{token}{_META}").write_text(json.dumps({**meta, "suffix": suffix}))
        return token

    def save_stream(self, stream: BinaryIO, meta: dict[str, Any], *, suffix: str) -> str:
        """Like :meth:`save`, copying ``stream`` to disk a chunk at a time (issue 18).

        An upload is never held whole in the worker's memory: werkzeug spools a large one
        to a temporary file, and this copies it from there in 1 MB chunks."""
        if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
            raise ValueError(f"bad upload suffix {suffix!r}")
        self.purge()
        token = secrets.token_hex(16)
        folder = self.folder()
        with (folder / f"{token}{suffix}").open("wb") as out:
            shutil.copyfileobj(stream, out, CHUNK)
        (folder / f"{token}{_META}").write_text(json.dumps({**meta, "suffix": suffix}))
        return token

    def load(self, token: str, user_id: int) -> tuple[Path, dict[str, Any]]:
        """The stored file and metadata for ``token`` if it is this user's; 404 otherwise."""
        if not _TOKEN.match(token or ""):
            raise NotFoundError(_("No such upload."))
        folder = self.folder()
        try:
            meta = json.loads((folder / f"{token}{_META}").read_text())
        except FileNotFoundError as exc:
            raise NotFoundError(self.gone()) from exc
        if meta.get("user_id") != user_id:
            raise NotFoundError(_("No such upload."))
        path = folder / f"{token}{meta['suffix']}"
        if not path.is_file():
            raise NotFoundError(self.gone())
        return path, meta

    def gone(self) -> str:
        """Why a token no longer opens its file, in the reader's language."""
        return str(_GONE.get(self.used_word, _GONE["used"]))

    def read(self, token: str, user_id: int) -> tuple[bytes, dict[str, Any]]:
        """Like :meth:`load`, with the file's bytes."""
        path, meta = self.load(token, user_id)
        return path.read_bytes(), meta

    def update_meta(self, token: str, extra: dict[str, Any]) -> None:
        """Add to an upload's metadata what was learnt after saving it (its row count)."""
        if not _TOKEN.match(token):
            raise ValueError("bad token")
        path = self.folder() / f"{token}{_META}"
        path.write_text(json.dumps({**json.loads(path.read_text()), **extra}))

    def read_head(self, token: str, user_id: int,
                  max_bytes: int) -> tuple[bytes, bool, dict[str, Any]]:
        """The first ``max_bytes`` of this user's upload, cut after its last whole line, and
        whether that is all of it: what a preview reads, so a page's memory does not grow
        with the file."""
        path, meta = self.load(token, user_id)
        with path.open("rb") as fh:
            head = fh.read(max_bytes + 1)
        if len(head) <= max_bytes:
            return head, True, meta
        head = head[:max_bytes]
        if b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]
        return head, False, meta

    def put_extra(self, token: str, name: str, text: str) -> None:
        """Keep a by-product of the upload (a reject report) next to it, gone with it."""
        if not _TOKEN.match(token) or not re.fullmatch(r"[a-z]{1,20}\.[a-z]{1,5}", name):
            raise ValueError("bad token or extra name")
        (self.folder() / f"{token}.{name}").write_text(text, encoding="utf-8")

    def get_extra(self, token: str, user_id: int, name: str) -> str | None:
        """A by-product of this user's upload, or ``None`` if there is none."""
        self.load(token, user_id)  # ownership check
        path = self.folder() / f"{token}.{name}"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def discard(self, token: str) -> None:
        """Remove an upload and everything kept with it (after it was used)."""
        if not _TOKEN.match(token or ""):
            return
        for path in self.folder().glob(f"{token}.*"):
            if path.is_file():
                path.unlink(missing_ok=True)


#: CSV files of accounts between upload, mapping and import.
ACCOUNT_IMPORTS = UploadStore("imports", used_word="imported")
#: Territory files between upload, preview and apply (and the balance wizard's inputs).
TERRITORY_FILES = UploadStore("territories", used_word="applied")
