"""Which device a request comes from, in one place: where a rep lands after signing in.

A phone is recognised by the browser's own hint (``Sec-CH-UA-Mobile: ?1``, sent by Chromium
browsers) or, failing that, by "Mobi" in the User-Agent, which every major mobile browser
includes and desktop ones do not (MDN's advice for the rare case where a server must know).
Only the landing decides: the field app links to the full site's pages and they link back,
so a rep can use either on any device.
"""

from __future__ import annotations

from flask import Request


def is_phone(request: Request) -> bool:
    """True for a request from a phone's browser (the field app's home)."""
    hint = request.headers.get("Sec-CH-UA-Mobile")
    if hint is not None:
        return hint.strip() == "?1"
    return "Mobi" in (request.user_agent.string or "")


def wants_field_app(request: Request, role: str) -> bool:
    """Whether a rep signing in (or opening the site's root) lands in the field app: on a
    phone. Managers and planners land on the full site anywhere."""
    return role == "rep" and is_phone(request)
