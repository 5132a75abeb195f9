"""The territory map's points, built once per version and answered with 304 after that.

At 100,000 accounts one points payload costs seconds of database and Python work (issue 18:
2.1-2.5 s, rebuilt identically on every request). The payload depends only on the user's
scope, the filters, the colouring, the language and rows that carry a change stamp, so:

* :func:`geocrm.maps.services.points_etag` hashes those inputs with a few aggregate numbers
  (count, last ``updated_at`` and id and version sums of the matching accounts; the same of
  the territories) into a strong ETag. Any write that changes an account or a territory
  changes the numbers, hence the ETag; nothing has to remember to invalidate anything.
* A browser that sends the ETag back (``If-None-Match``) gets a 304 after those aggregates,
  without the payload being built or sent.
* Otherwise the body comes from this process's :class:`PointsCache`, keyed by the ETag
  itself, so two users share an entry only when their ETags are equal, which needs the same
  scope. A manager's scope key is their own id; admins and planners share "everything".

One build per ETag even when fifty requests ask at once (the others wait for it), a byte
budget with least-recently-used eviction, and the previous version of a slot dropped as soon
as its successor is stored.

The aggregates are one scan of the matching accounts (tens of milliseconds at 100,000, more
under a manager's scope), so a slot's ETag is reused for ``GEOCRM_MAP_VERSION_TTL`` seconds
(2 by default, 0 under tests): an edit reaches the map's data within that time, and a crowd
of map requests costs one scan per slot per process and interval.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, current_app

#: Bytes of payloads one process keeps (a 100,000-account payload is about 2.5 MB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Seconds a slot's computed ETag is reused before the aggregates run again.
DEFAULT_VERSION_TTL = 2.0
EXTENSION = "geocrm_map_points"


class PointsCache:
    """Payloads by ETag: bounded by bytes, one build per ETag at a time, thread-safe."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.builds = 0  # how many payloads were built (the tests and the benchmark read it)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()  # etag: slot, body
        self._slots: dict[str, str] = {}  # slot (scope, filters, colour, language): etag
        self._gates: dict[str, threading.Lock] = {}
        self._versions: dict[str, tuple[float, str]] = {}  # slot: (computed at, etag)
        self._version_gates: dict[str, threading.Lock] = {}
        self._bytes = 0

    def etag(self, slot: str, compute: Callable[[], str], ttl: float) -> str:
        """``slot``'s ETag: computed again once ``ttl`` seconds have passed since the last,
        by one request at a time (those waiting take the value computed meanwhile)."""
        asked = time.monotonic()
        with self._lock:
            known = self._versions.get(slot)
            gate = self._version_gates.setdefault(slot, threading.Lock())
        if known is not None and asked - known[0] < ttl:
            return known[1]
        with gate:
            with self._lock:
                known = self._versions.get(slot)
            if known is not None and known[0] > asked:  # computed while this one waited
                return known[1]
            etag = compute()
            with self._lock:
                if len(self._versions) > 4096:  # slots are few; never let them pile up
                    self._versions.clear()
                    self._version_gates = {slot: gate}
                self._versions[slot] = (time.monotonic(), etag)
        return etag

    def get(self, etag: str) -> bytes | None:
        """The stored payload of ``etag``, if any (and mark it recently used)."""
        with self._lock:
            entry = self._entries.get(etag)
            if entry is None:
                return None
            self._entries.move_to_end(etag)
            return entry[1]

    def get_or_build(
        self, etag: str, slot: str, build: Callable[[], bytes], still_current: Callable[[], bool]
    ) -> tuple[bytes, bool]:
        """The payload of ``etag``, built by at most one caller at a time.

        ``still_current`` is asked after a build: a write that landed meanwhile may be in the
        body, which then belongs to no known ETag and is served once but not kept. Returns the
        body and whether it is the payload of ``etag``.
        """
        body = self.get(etag)
        if body is not None:
            return body, True
        with self._lock:
            gate = self._gates.setdefault(etag, threading.Lock())
        with gate:
            body = self.get(etag)  # built by the request we waited for
            if body is not None:
                return body, True
            try:
                body = build()
                with self._lock:
                    self.builds += 1
                current = still_current()
                if current:
                    self._store(etag, slot, body)
            finally:
                with self._lock:
                    self._gates.pop(etag, None)
        return body, current

    def _store(self, etag: str, slot: str, body: bytes) -> None:
        with self._lock:
            previous = self._slots.get(slot)
            if previous is not None and previous != etag:
                self._drop(previous)
            if len(body) > self.max_bytes:
                return
            self._entries[etag] = (slot, body)
            self._slots[slot] = etag
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, etag: str) -> None:
        entry = self._entries.pop(etag, None)
        if entry is None:
            return
        slot, body = entry
        self._bytes -= len(body)
        if self._slots.get(slot) == etag:
            del self._slots[slot]

    def __len__(self) -> int:
        return len(self._entries)


def version_ttl(app: Flask) -> float:
    """How long a computed ETag stands (``GEOCRM_MAP_VERSION_TTL``; tests see edits at once)."""
    default = 0.0 if app.testing else DEFAULT_VERSION_TTL
    return float(app.config.get("GEOCRM_MAP_VERSION_TTL", default))


def init_app(app: Flask) -> PointsCache:
    """This app's cache (``GEOCRM_MAP_CACHE_BYTES`` overrides the budget), made on first use."""
    cache = app.extensions.get(EXTENSION)
    if cache is None:
        cache = PointsCache(int(app.config.get("GEOCRM_MAP_CACHE_BYTES") or DEFAULT_MAX_BYTES))
        app.extensions[EXTENSION] = cache
    return cache


def points_cache() -> PointsCache:
    """The running app's cache."""
    return init_app(current_app)
