"""Rate limits on the JSON API (issue 18), counted per token, else per user, else per address.

Flask-Limiter with a fixed window of ``GEOCRM_API_RATE_LIMIT`` (default 600/minute). The
counters live in memory in each process by default and in Redis when ``GEOCRM_REDIS_URL`` is
set (then every gunicorn worker and server shares them). The key is the bearer token's id, so
each integration has its own budget and one noisy script does not starve the user's phone;
without a token it is the signed-in user, without a user the client's address. An exceeded
limit answers a 429 problem document with ``Retry-After`` (seconds).
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RequestLimit
from flask_login import current_user

from geocrm.api.tokens import bearer_auth
from geocrm.errors import problem


def rate_key() -> str:
    """token:<id>, else user:<id>, else addr:<remote address>."""
    if request.headers.get("Authorization"):
        auth = bearer_auth()
        if auth is not None:
            return f"token:{auth.token_id}"
    elif current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr or 'unknown'}"


def _limit_value() -> str:
    return str(current_app.config.get("GEOCRM_API_RATE_LIMIT") or "600/minute")


def _breached(limit: RequestLimit) -> Response:
    retry_after = max(1, math.ceil(limit.reset_at - time.time()))
    response = problem(429, "Too Many Requests",
                       _("Too many requests: at most %(limit)s. Try again in %(seconds)d s.",
                         limit=str(limit.limit), seconds=retry_after),
                       retry_after=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response


def install(app: Flask, bp: Blueprint) -> Limiter:
    """Limit every route of ``bp`` (the /api/v1 blueprint) for ``app``."""
    redis_url = app.config.get("GEOCRM_REDIS_URL") or ""
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter = Limiter(rate_key, app=app, on_breach=_breached, default_limits=[],
                      key_prefix=str(app.config.get("GEOCRM_RATELIMIT_PREFIX") or "geocrm"))
    limiter.limit(_limit_value, key_func=rate_key)(bp)
    return limiter


def limiter_of(app: Any) -> Limiter:
    """The app's limiter (tests reset it)."""
    found: Limiter = next(iter(app.extensions["limiter"]))
    return found
