"""Settings: defaults, then the environment, then the mapping given to ``create_app``.

Secrets never live in the repository: ``SECRET_KEY`` comes from the environment or is
generated once into ``instance/secret_key`` (which is git-ignored).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


def normalise_database_url(url: str) -> str:
    """Map the ``postgres://`` / ``postgresql://`` forms hosting platforms hand out to psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_secret_key(instance_path: Path) -> str:
    """Return ``SECRET_KEY`` from the environment, or from ``instance/secret_key``, creating it."""
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create with owner-only permissions: it signs every session cookie.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def build_config(instance_path: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the settings for one app instance.

    The environment is read here, when the app is built, never at import time, so tests can
    pass ``overrides`` without touching ``os.environ``.
    """
    overrides = dict(overrides or {})
    env = os.environ
    default_db = f"sqlite:///{instance_path / 'geocrm.sqlite'}"
    cfg: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(env.get("DATABASE_URL", default_db)),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Behind TLS (any real deployment) set GEOCRM_SECURE_COOKIES=1; plain http on a laptop
        # (127.0.0.1) cannot carry Secure cookies in every browser.
        "SESSION_COOKIE_SECURE": _truthy(env.get("GEOCRM_SECURE_COOKIES")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _truthy(env.get("GEOCRM_SECURE_COOKIES")),
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,  # a rep's form may stay open all day offline
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "GEOCRM_TILE_URL": env.get("GEOCRM_TILE_URL", OSM_TILE_URL),
        "GEOCRM_TILE_ATTRIBUTION": env.get("GEOCRM_TILE_ATTRIBUTION", OSM_ATTRIBUTION),
        # The vector basemap (geocrm.region.basemap): auto = the region's (or the company's
        # GEOCRM_BASEMAP_FILE, a PMTiles archive) when there is one, else the raster
        # GEOCRM_TILE_URL; raster = always the tile URL. The field app keeps at most
        # GEOCRM_BASEMAP_OFFLINE_MB of it for the rep's territories.
        "GEOCRM_BASEMAP": env.get("GEOCRM_BASEMAP", "auto"),
        "GEOCRM_BASEMAP_FILE": env.get("GEOCRM_BASEMAP_FILE", ""),
        "GEOCRM_BASEMAP_OFFLINE_MB": float(env.get("GEOCRM_BASEMAP_OFFLINE_MB", "25")),
        "GEOCRM_LOGIN_MAX_FAILURES": int(env.get("GEOCRM_LOGIN_MAX_FAILURES", "5")),
        "GEOCRM_LOGIN_WINDOW_SECONDS": int(env.get("GEOCRM_LOGIN_WINDOW_SECONDS", "900")),
        "GEOCRM_GEOFENCE_METERS": float(env.get("GEOCRM_GEOFENCE_METERS", "150")),
        # A check-in is verified only with a fix at least this good (metres, the phone's
        # stated accuracy); worse fixes are kept and flagged "GPS fix too imprecise".
        "GEOCRM_CHECKIN_MAX_ACCURACY_M": float(env.get("GEOCRM_CHECKIN_MAX_ACCURACY_M", "100")),
        # The manager's day (geocrm.teamday): a check-in this many minutes after the planned
        # start is late, and a stop this long past its planned end without a visit is missed;
        # the page asks for fresh data every GEOCRM_TEAMDAY_REFRESH_S seconds.
        "GEOCRM_LATE_MINUTES": int(env.get("GEOCRM_LATE_MINUTES", "15")),
        "GEOCRM_TEAMDAY_REFRESH_S": int(env.get("GEOCRM_TEAMDAY_REFRESH_S", "60")),
        "GEOCRM_REDIS_URL": env.get("GEOCRM_REDIS_URL", ""),
        # Planning: the company's time zone (plans are in local time) and the RQ queue name.
        "GEOCRM_TIMEZONE": env.get("GEOCRM_TIMEZONE", "UTC"),
        # Languages (geocrm.i18n): the default when neither profile nor browser picks one of
        # en/ko/ja, and the one currency amounts are in (ISO 4217; KRW/JPY show no decimals).
        "GEOCRM_DEFAULT_LOCALE": env.get("GEOCRM_DEFAULT_LOCALE", "en"),
        "GEOCRM_CURRENCY": env.get("GEOCRM_CURRENCY", "EUR"),
        # Public holidays for opening hours' "PH" rules: an ISO country code (FI, KR, JP, DE).
        "GEOCRM_HOLIDAY_COUNTRY": env.get("GEOCRM_HOLIDAY_COUNTRY", ""),
        # The company's country (ISO code): the address convention of accounts without one.
        "GEOCRM_COUNTRY": env.get("GEOCRM_COUNTRY", ""),
        "GEOCRM_RQ_QUEUE": env.get("GEOCRM_RQ_QUEUE", "geocrm"),
        "GEOCRM_JOB_THREADS": int(env.get("GEOCRM_JOB_THREADS", "1")),
        "GEOCRM_TERRITORY_JOB_ACCOUNTS": int(env.get("GEOCRM_TERRITORY_JOB_ACCOUNTS", "20000")),
        "GEOCRM_DUPLICATE_JOB_ACCOUNTS": int(env.get("GEOCRM_DUPLICATE_JOB_ACCOUNTS", "10000")),
        # Travel for every plan (geocrm.region.travel): region (the loaded region's roads, the
        # default when one is loaded), osrm (GEOCRM_OSRM_URL), valhalla (GEOCRM_VALHALLA_URL)
        # or straight (great-circle).
        "GEOCRM_TRAVEL": env.get("GEOCRM_TRAVEL", ""),
        "GEOCRM_OSRM_URL": env.get("GEOCRM_OSRM_URL", ""),
        "GEOCRM_VALHALLA_URL": env.get("GEOCRM_VALHALLA_URL", ""),
        # Distances shown in km or mi (geocrm.i18n.distance); stored and planned in metres.
        "GEOCRM_DISTANCE_UNIT": env.get("GEOCRM_DISTANCE_UNIT", "km"),
        # The appname Naver Map links carry (its registered app id); default: this site's URL.
        "GEOCRM_NAVER_APPNAME": env.get("GEOCRM_NAVER_APPNAME", ""),
    }
    cfg.update(_messaging_settings(env))
    if "GEOCRM_TILE_URL" in overrides and not overrides["GEOCRM_TILE_URL"]:
        overrides["GEOCRM_TILE_URL"] = ""
    cfg.update(overrides)
    if "SQLALCHEMY_DATABASE_URI" in overrides:
        cfg["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(cfg["SQLALCHEMY_DATABASE_URI"])
    if "SECRET_KEY" not in cfg:
        cfg["SECRET_KEY"] = load_secret_key(instance_path)
    return cfg


def _messaging_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """What GeoCRM sends and how: mail, Web Push, webhooks, the API's rate limit."""
    return {
        # Mail (geocrm.notify.mail): nothing is sent while GEOCRM_SMTP_HOST is empty.
        "GEOCRM_SMTP_HOST": env.get("GEOCRM_SMTP_HOST", ""),
        "GEOCRM_SMTP_PORT": int(env.get("GEOCRM_SMTP_PORT", "587")),
        "GEOCRM_SMTP_USER": env.get("GEOCRM_SMTP_USER", ""),
        "GEOCRM_SMTP_PASSWORD": env.get("GEOCRM_SMTP_PASSWORD", ""),
        "GEOCRM_SMTP_STARTTLS": _truthy(env.get("GEOCRM_SMTP_STARTTLS", "1")),
        "GEOCRM_MAIL_FROM": env.get("GEOCRM_MAIL_FROM", ""),
        # Web Push (geocrm.notify.push): the VAPID contact; keys are made in the instance folder.
        "GEOCRM_VAPID_SUBJECT": env.get("GEOCRM_VAPID_SUBJECT", "mailto:admin@localhost"),
        # Links in mail and push messages need the site's public address.
        "GEOCRM_BASE_URL": env.get("GEOCRM_BASE_URL", ""),
        # The JSON API's rate limit per token (else per signed-in user, else per address), in
        # Flask-Limiter's notation; counted in Redis when GEOCRM_REDIS_URL is set (issue 18).
        "GEOCRM_API_RATE_LIMIT": env.get("GEOCRM_API_RATE_LIMIT", "600/minute"),
        # Webhooks (geocrm.webhooks): private/loopback receivers only when allowed; retry wait.
        "GEOCRM_WEBHOOK_ALLOW_PRIVATE": _truthy(env.get("GEOCRM_WEBHOOK_ALLOW_PRIVATE")),
        "GEOCRM_WEBHOOK_BACKOFF_SECONDS": float(env.get("GEOCRM_WEBHOOK_BACKOFF_SECONDS", "60")),
        "GEOCRM_WEBHOOK_TIMEOUT": float(env.get("GEOCRM_WEBHOOK_TIMEOUT", "10")),
    }
