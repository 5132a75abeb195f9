"""The signature a receiver checks: HMAC-SHA256 over ``"<unix time>.<body>"``.

Header: ``X-GeoCRM-Signature: t=<unix>,v1=<hex>``. The timestamp is signed with the body, so
a captured delivery cannot be replayed later with a fresh time; receivers should refuse a
``t`` older than a few minutes (:data:`TOLERANCE_SECONDS`). No Flask, no database: the sample
integration script (docs/integration_example.py) implements the same check on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-GeoCRM-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body`` sent at ``timestamp`` (now by default)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is recent enough."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError, IndexError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))
