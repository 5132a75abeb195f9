"""docs/integration_example.py runs for real (issue 18): against a live GeoCRM server on
loopback it upserts accounts, changes one, and receives and verifies the signed webhook on its
own HTTP server. Run as a separate process, as an integrator would."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from geocrm.api.tokens import create_token
from geocrm.extensions import db
from geocrm.models.webhooks import WebhookDelivery

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "integration_example.py"


@pytest.fixture
def live_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["GEOCRM_WEBHOOK_ALLOW_PRIVATE"] = True
    return app_config


@pytest.fixture
def live_url(live_config: dict[str, Any], app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    from geocrm import jobs

    jobs.drain(app, 30)  # the delivery jobs end before the app's database goes


def test_sample_script_upserts_and_verifies_a_signed_webhook(live_url, world):
    _, token = create_token(world.admin, "integration", scopes=["read", "write", "admin"])
    db.session.commit()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", live_url, "--token", token,
         "--timeout", "30"],
        capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["verified"] is True and last["event"]["type"] == "account.updated"
    assert last["event"]["data"]["phone"] == "+358 9 123 4567"
    assert last["event"]["data"]["name"].startswith("Example Bakery ")
    db.session.expire_all()
    sent = db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.event_id == last["event"]["id"])).one()
    assert sent.kind == "account.updated"


def test_sample_script_refuses_a_wrong_secret(live_url, world):
    """An endpoint on the script's receiver signs with its own secret; the script, given
    another one, refuses every delivery and fails."""
    import socket

    from geocrm.webhooks import endpoints

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _, token = create_token(world.admin, "integration", scopes=["read", "write", "admin"])
    endpoints.create_endpoint(world.admin, f"http://127.0.0.1:{port}/hook", ["account.*"])
    db.session.commit()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", live_url, "--token", token,
         "--listen", f"127.0.0.1:{port}", "--secret", "whsec_wrong", "--timeout", "8"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "refused a webhook with a bad signature" in proc.stderr


def test_sample_script_falls_back_without_the_bulk_endpoint(live_url, world, monkeypatch,
                                                            capsys):
    """Against a server without /accounts/bulk the script creates accounts one by one (an
    ``account.created`` each) and still gets its verified ``account.updated``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("integration_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    real_call = module.Api.call

    def no_bulk(self: Any, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        if path == "/accounts/bulk":
            return 404, {"status": 404}, {}
        return real_call(self, method, path, *args, **kwargs)

    monkeypatch.setattr(module.Api, "call", no_bulk)
    _, token = create_token(world.admin, "integration", scopes=["read", "write", "admin"])
    db.session.commit()
    assert module.main(["--base-url", live_url, "--token", token, "--timeout", "30"]) == 0
    out = capsys.readouterr().out
    assert "created 2 accounts one by one" in out and "verified account.updated" in out
