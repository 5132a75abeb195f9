"""Response headers that keep every page on this origin (no CDN can sneak in)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response


def tile_origin(tile_url: str) -> str:
    """The scheme and host of the configured tile server, or '' when tiles are off."""
    if not tile_url:
        return ""
    parts = urlsplit(tile_url.replace("{s}", "a"))
    host = parts.netloc
    if "{s}" in tile_url:
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def register_security_headers(app: Flask) -> None:
    """Content-Security-Policy allowing only this origin plus the tile server for images."""

    @app.after_request
    def _headers(response: Response) -> Response:
        tiles = tile_origin(app.config.get("GEOCRM_TILE_URL", ""))
        img = f"'self' data: blob: {tiles}".strip()
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"img-src {img}; "
            "script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; "
            "frame-ancestors 'self'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
