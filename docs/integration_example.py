#!/usr/bin/env python3
"""A sample GeoCRM integration: push accounts in, get signed webhooks out.

What an ERP connector does, in one file with the standard library only (copy it and adapt):

1. starts a small HTTP server that receives GeoCRM's webhooks and checks each signature;
2. registers that server as a webhook endpoint for ``account.*`` events (needs a token with
   the ``admin`` scope; pass ``--secret`` instead to use an endpoint registered on the
   Webhooks page);
3. creates or updates accounts by external id with one bulk upsert
   (``POST /api/v1/accounts/bulk``; where the server has no bulk endpoint it falls back to
   ``POST /api/v1/accounts`` one by one);
4. changes one of them (``PATCH`` with ``If-Match``), which makes GeoCRM send an
   ``account.updated`` event;
5. waits for that webhook, verifies ``X-GeoCRM-Signature: t=<unix>,v1=<hex>`` (HMAC-SHA256
   of ``"<t>.<raw body>"`` with the endpoint's secret, ``t`` at most 5 minutes old), and prints
   the event.

Usage::

    python docs/integration_example.py --base-url https://crm.example.com \
        --token gcrm_... --public-url https://connector.example.com/hook

``--public-url`` is the address GeoCRM posts to (default: this machine's listening address,
which GeoCRM accepts only with GEOCRM_WEBHOOK_ALLOW_PRIVATE=1). Exit status 0 when a verified
webhook for the changed account arrived.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_AGE_SECONDS = 300


def verify_signature(secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """True when ``header`` is a fresh HMAC-SHA256 signature of ``body`` with ``secret``."""
    try:
        parts = [p.split("=", 1) for p in header.split(",")]
        t = int(next(v for k, v in parts if k.strip() == "t"))
        candidates = [v for k, v in parts if k.strip() == "v1"]
    except (StopIteration, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > MAX_AGE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, c) for c in candidates)


class Api:
    """A tiny JSON client for /api/v1 with a bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw, status, got = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as err:
            raw, status, got = err.read(), err.code, dict(err.headers)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return status, parsed, got


def start_receiver(host: str, port: int) -> tuple[ThreadingHTTPServer, queue.Queue[Any]]:
    """An HTTP server whose POSTs land on the returned queue as (headers, raw body)."""
    inbox: queue.Queue[Any] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            inbox.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)  # answer fast; do the work after
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, inbox


def upsert_accounts(api: Api, source: str, records: list[dict[str, Any]]) -> str:
    """Bulk upsert by external id; falls back to one POST per account. Returns the path used."""
    status, body, _ = api.call("POST", "/accounts/bulk", {"source": source, "items": records})
    if status == 200:
        print(f"bulk upsert: {body['counts']}")
        return "bulk"
    if status not in (404, 405):
        raise SystemExit(f"bulk upsert failed: {status} {body}")
    for record in records:  # an older server: the field app's "add account here"
        status, body, _ = api.call("POST", "/accounts", {
            "uuid": str(uuid.uuid4()), "name": record["name"], "address": record.get("address"),
            "lat": record["lat"], "lon": record["lon"], "phone": record.get("phone")})
        if status not in (200, 201):
            raise SystemExit(f"creating {record['name']} failed: {status} {body}")
    print(f"created {len(records)} accounts one by one")
    return "single"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="GeoCRM's address")
    parser.add_argument("--token", required=True, help="a personal access token")
    parser.add_argument("--listen", default="127.0.0.1:0", help="host:port for the receiver")
    parser.add_argument("--public-url", help="the receiver's address as GeoCRM reaches it")
    parser.add_argument("--secret", help="an existing endpoint's secret (skip registering)")
    parser.add_argument("--source", default="erp", help="the external system's name")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait")
    args = parser.parse_args(argv)

    host, _, port = args.listen.rpartition(":")
    server, inbox = start_receiver(host or "127.0.0.1", int(port or 0))
    url = args.public_url or f"http://{server.server_address[0]}:{server.server_address[1]}/hook"
    api = Api(args.base_url, args.token)
    secret = args.secret
    if secret is None:
        status, body, _ = api.call("POST", "/webhooks", {
            "url": url, "events": ["account.*"], "description": "integration_example.py"})
        if status != 201:
            raise SystemExit(f"registering the webhook failed: {status} {body}")
        secret = body["secret"]
        print(f"webhook {body['id']} registered for {url}")

    run = uuid.uuid4().hex[:8]
    records = [
        {"external_id": f"ERP-{run}-1", "name": f"Example Bakery {run}",
         "address": "Mannerheimintie 1, Helsinki", "lat": 60.1699, "lon": 24.9384},
        {"external_id": f"ERP-{run}-2", "name": f"Example Hardware {run}",
         "address": "Aleksanterinkatu 10, Helsinki", "lat": 60.1688, "lon": 24.9460},
    ]
    upsert_accounts(api, args.source, records)

    status, page, _ = api.call("GET", "/accounts?" + urllib.parse.urlencode(
        {"q": records[0]["name"]}))
    if status != 200 or not page.get("items"):
        raise SystemExit(f"the new account was not found: {status} {page}")
    account_id = page["items"][0]["id"]
    status, _, headers = api.call("GET", f"/accounts/{account_id}")
    etag = {k.lower(): v for k, v in headers.items()}.get("etag")
    status, body, _ = api.call("PATCH", f"/accounts/{account_id}", {"phone": "+358 9 123 4567"},
                               headers={"If-Match": etag} if etag else None)
    if status != 200:
        raise SystemExit(f"changing account {account_id} failed: {status} {body}")
    print(f"account {account_id} changed; waiting for its webhook")

    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            try:
                headers, raw = inbox.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if not verify_signature(secret, raw, headers.get("x-geocrm-signature", "")):
                print("refused a webhook with a bad signature", file=sys.stderr)
                continue
            event = json.loads(raw)
            print(f"verified {event['type']} {event['id']} for account {event['data']['id']}")
            if event["type"] == "account.updated" and event["data"]["id"] == account_id:
                print(json.dumps({"verified": True, "event": event}, ensure_ascii=False))
                return 0
        print("no verified webhook for the changed account arrived in time", file=sys.stderr)
        return 1
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
