"""The WSGI entry point for gunicorn behind nginx (docs/deploy): ``geocrm.wsgi:app``.

Behind a reverse proxy every request comes from the proxy's address, so per-address limits
(sign-in throttling, the API's limit for requests without a token) would count every client
as one. :func:`behind_proxy` trusts the ``X-Forwarded-For`` and ``X-Forwarded-Proto`` that
the proxy sets, for as many hops as there are proxies (``GEOCRM_PROXY_HOPS``, 1 for the
nginx of docs/deploy/nginx.conf). Serve it only behind that proxy, on an address clients
cannot reach (gunicorn binds 127.0.0.1): a client talking to it directly could claim any
address.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from geocrm import create_app


def behind_proxy(flask_app: Flask, hops: int) -> Flask:
    """``flask_app`` taking the client's address and scheme from ``hops`` trusted proxies."""
    if hops > 0:
        flask_app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            flask_app.wsgi_app, x_for=hops, x_proto=hops)
    return flask_app


def __getattr__(name: str) -> Any:
    """``app`` is built when gunicorn asks for it, not when a test imports this module."""
    if name != "app":
        raise AttributeError(name)
    app = behind_proxy(create_app(), int(os.environ.get("GEOCRM_PROXY_HOPS", "1")))
    globals()["app"] = app
    return app
