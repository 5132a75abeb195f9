"""Where a webhook may be sent: http(s) only, and never to private or metadata addresses.

A webhook URL is a request the server makes on an admin's behalf (SSRF): pointed at
169.254.169.254 it would read the cloud's metadata, at 127.0.0.1 or 10.x the company's
internal services. The host is resolved and every address it answers is checked, at
registration and again before each delivery (DNS can change in between).
``GEOCRM_WEBHOOK_ALLOW_PRIVATE=1`` lifts the rule for a receiver on the same machine or
network (tests, an on-premise ERP).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from geocrm.errors import ValidationError


class UnresolvableHost(ValidationError):
    """The host has no address now: refused at registration, retried at delivery (DNS may
    be down for a moment)."""


def _private_allowed() -> bool:
    value = current_app.config.get("GEOCRM_WEBHOOK_ALLOW_PRIVATE")
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


def check_url(url: str) -> str:
    """``url`` cleaned, or :class:`ValidationError` naming the ``url`` field."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("url", _("must be an http:// or https:// address"))
    if len(url) > 500:
        raise ValidationError("url", _("must be at most 500 characters"))
    if parts.username or parts.password:
        raise ValidationError("url", _("must not contain a user name or password"))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as exc:
        raise UnresolvableHost("url", _("the host cannot be found")) from exc
    if not _private_allowed():
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if _forbidden(ip):
                raise ValidationError(
                    "url", _("points to a private, local or metadata address (%(ip)s)", ip=ip))
    return url
