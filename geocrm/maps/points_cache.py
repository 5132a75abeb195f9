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

With several worker processes (gunicorn) each process would still build every payload and
run every slot's aggregates itself. When ``GEOCRM_REDIS_URL`` is set (the RQ queue's Redis),
:class:`SharedStore` shares both between processes: a slot's ETag (for the same TTL) and the
payloads by ETag, with one build per ETag across processes (a short lock in Redis). Redis
only stores what :func:`geocrm.maps.services.points_etag` decided; the version rule stays in
that one place. Without Redis, or while it is unreachable, each process works alone as before.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Bytes of payloads one process keeps (a 100,000-account payload is about 2.5 MB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Seconds a slot's computed ETag is reused before the aggregates run again.
DEFAULT_VERSION_TTL = 2.0
EXTENSION = "geocrm_map_points"
#: Seconds a payload stays in Redis (a newer version of its slot deletes it sooner).
DEFAULT_SHARED_TTL = 3600
#: Seconds another process's build is awaited before this one builds the payload itself.
BUILD_WAIT = 15.0
#: Seconds Redis is left alone after an error (so an outage costs one timeout, not one each).
RETRY_AFTER = 30.0


class SharedStore:
    """Slot versions and payloads in Redis, shared by every worker process.

    Every method answers ``None``/``False`` instead of raising when Redis fails: the map then
    works from the process's own cache, and Redis is tried again after ``RETRY_AFTER`` s.
    """

    def __init__(self, url: str, prefix: str = "geocrm:map:", ttl: int = DEFAULT_SHARED_TTL,
                 client: Any = None) -> None:
        if client is None:
            from redis import Redis

            client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
        self.redis = client
        self.prefix = prefix
        self.ttl = ttl
        self._down_until = 0.0

    def _key(self, kind: str, name: str) -> str:
        # Slots are JSON of filters and search words: hashed, so keys stay short and plain.
        if kind in ("slot", "version"):
            name = hashlib.sha256(name.encode()).hexdigest()[:32]
        return f"{self.prefix}{kind}:{name}"

    def _call(self, default: T, action: Callable[[], T]) -> T:
        if time.monotonic() < self._down_until:
            return default
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - redis errors, timeouts, refused connections
            log.warning("map points: Redis unavailable, using this process's cache (%s)", exc)
            self._down_until = time.monotonic() + RETRY_AFTER
            return default

    def version(self, slot: str) -> tuple[str, float] | None:
        """The slot's shared ETag and the seconds it has left, if another process set one."""

        def read() -> tuple[str, float] | None:
            etag, left = self.redis.pipeline().get(self._key("version", slot)).pttl(
                self._key("version", slot)).execute()
            if etag is None or left is None or left <= 0:
                return None
            return etag.decode(), left / 1000

        return self._call(None, read)

    def set_version(self, slot: str, etag: str, ttl: float) -> None:
        if ttl > 0:
            self._call(None, lambda: self.redis.set(self._key("version", slot), etag,
                                                    px=int(ttl * 1000)))

    def body(self, etag: str) -> bytes | None:
        return self._call(None, lambda: self.redis.get(self._key("body", etag)))

    def put(self, etag: str, slot: str, body: bytes) -> None:
        """Keep ``body`` as ``etag``'s payload and drop the slot's previous version."""

        def write() -> None:
            previous = self.redis.getset(self._key("slot", slot), etag)
            pipe = self.redis.pipeline()
            pipe.set(self._key("body", etag), body, ex=self.ttl)
            pipe.expire(self._key("slot", slot), self.ttl)
            if previous is not None and previous.decode() != etag:
                pipe.delete(self._key("body", previous.decode()))
            pipe.execute()

        self._call(None, write)

    def claim(self, etag: str) -> bool:
        """Whether this process is the one to build ``etag`` (True also when Redis is down)."""
        return self._call(True, lambda: bool(
            self.redis.set(self._key("build", etag), "1", nx=True, ex=int(BUILD_WAIT) + 5)))

    def release(self, etag: str) -> None:
        self._call(None, lambda: self.redis.delete(self._key("build", etag)))

    def wait_for(self, etag: str, timeout: float = BUILD_WAIT) -> bytes | None:
        """Another process's build of ``etag``, once stored (None when it does not come)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.body(etag)
            if body is not None:
                return body
            if not self._call(False, lambda: bool(self.redis.exists(self._key("build", etag)))):
                return None  # the build ended without storing (a write landed meanwhile)
            time.sleep(0.05)
        return None


class PointsCache:
    """Payloads by ETag: bounded by bytes, one build per ETag at a time, thread-safe."""

    def __init__(
        self, max_bytes: int = DEFAULT_MAX_BYTES, shared: SharedStore | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.shared = shared
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
            shared = self.shared.version(slot) if self.shared is not None and ttl > 0 else None
            if shared is not None:  # another process ran the aggregates within the TTL
                etag, left = shared
                with self._lock:
                    self._versions[slot] = (time.monotonic() - max(ttl - left, 0.0), etag)
                return etag
            etag = compute()
            if self.shared is not None:
                self.shared.set_version(slot, etag, ttl)
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
            claimed = False
            try:
                if self.shared is not None:
                    body = self.shared.body(etag)
                    if body is None:
                        claimed = self.shared.claim(etag)
                        if not claimed:  # another process is building it
                            body = self.shared.wait_for(etag)
                    if body is not None:
                        self._store(etag, slot, body)
                        return body, True
                body = build()
                with self._lock:
                    self.builds += 1
                current = still_current()
                if current:
                    self._store(etag, slot, body)
                    if self.shared is not None:
                        self.shared.put(etag, slot, body)
            finally:
                if claimed and self.shared is not None:
                    self.shared.release(etag)
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
    """This app's cache (``GEOCRM_MAP_CACHE_BYTES`` overrides the budget), made on first use,
    shared through Redis when ``GEOCRM_REDIS_URL`` is set (keys under
    ``GEOCRM_MAP_REDIS_PREFIX``, ``geocrm:map:`` by default)."""
    cache = app.extensions.get(EXTENSION)
    if cache is None:
        url = app.config.get("GEOCRM_REDIS_URL") or ""
        shared = None
        if url:
            shared = SharedStore(url, app.config.get("GEOCRM_MAP_REDIS_PREFIX") or "geocrm:map:")
        cache = PointsCache(int(app.config.get("GEOCRM_MAP_CACHE_BYTES") or DEFAULT_MAX_BYTES),
                            shared)
        app.extensions[EXTENSION] = cache
    return cache


def points_cache() -> PointsCache:
    """The running app's cache."""
    return init_app(current_app)
