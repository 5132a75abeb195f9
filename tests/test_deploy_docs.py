"""docs/deploy: the nginx and gunicorn files the README's production set-up uses (issue 18)
parse, and agree with each other and with the app: buffering on, timeouts nested the right
way round, the upload limit, the upstream address."""

from __future__ import annotations

import re
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config

from geocrm.config import build_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy"
TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};"\']+')
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None
    children: list[Directive] = field(default_factory=list)


def parse_nginx(text: str) -> list[Directive]:
    """nginx's grammar, small: ``name args;`` and ``name args { ... }``, ``#`` comments."""
    text = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    root: list[Directive] = []
    stack = [root]
    words: list[str] = []
    for token in TOKEN.findall(text):
        if token == ";":
            assert words, "an empty statement"
            stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            assert words, "a block without a name"
            block: list[Directive] = []
            stack[-1].append(Directive(words[0], words[1:], block))
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"missing ';' after {words}"
            stack.pop()
            assert stack, "unbalanced '}'"
        else:
            words.append(token.strip("\"'"))
    assert not words and len(stack) == 1, "unterminated statement or block"
    return root


def find(directives: list[Directive], name: str) -> list[Directive]:
    return [d for d in directives if d.name == name]


def one(directives: list[Directive], name: str) -> list[str]:
    found = find(directives, name)
    assert len(found) == 1, f"{name}: {len(found)} times"
    return found[0].args


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]


def size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmgKMG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * UNITS[unit.lower()]


@pytest.fixture(scope="module")
def nginx() -> list[Directive]:
    return parse_nginx((DEPLOY / "nginx.conf").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def gunicorn() -> Config:
    """The settings file as gunicorn itself reads it: an unknown or invalid value fails."""
    cfg = Config()
    for key, value in runpy.run_path(str(DEPLOY / "gunicorn.conf.py")).items():
        if key in cfg.settings:
            cfg.set(key, value)
    return cfg


def test_nginx_buffers_and_limits_what_reaches_gunicorn(nginx: list[Directive]) -> None:
    """A buffering proxy: whole bodies and answers buffered, stalled clients dropped by nginx,
    bodies capped at exactly the app's own MAX_CONTENT_LENGTH."""
    server = [d.block for d in find(nginx, "server") if d.block and find(d.block, "location")]
    assert len(server) == 1
    https = server[0]
    assert one(https, "proxy_request_buffering") == ["on"]
    assert one(https, "proxy_buffering") == ["on"]
    app_limit = build_config(Path("/nonexistent"), {"SECRET_KEY": "t"})["MAX_CONTENT_LENGTH"]
    assert size(one(https, "client_max_body_size")[0]) == app_limit
    assert seconds(one(https, "client_body_timeout")[0]) <= 60
    assert seconds(one(https, "client_header_timeout")[0]) <= 60
    location = find(https, "location")[0].block
    assert location is not None
    assert one(location, "proxy_pass") == ["http://geocrm"]
    assert ["X-Forwarded-Proto", "$scheme"] in [d.args for d in find(location, "proxy_set_header")]


def test_timeouts_nest_and_the_upstream_is_gunicorn(nginx: list[Directive],
                                                    gunicorn: Config) -> None:
    """nginx waits longer than gunicorn lets a request run, closes idle upstream connections
    before gunicorn does, and talks to the address gunicorn binds."""
    https = next(d.block for d in find(nginx, "server") if d.block and find(d.block, "location"))
    assert seconds(one(https, "proxy_read_timeout")[0]) > gunicorn.timeout
    upstream = next(d.block for d in find(nginx, "upstream") if d.args == ["geocrm"])
    assert upstream is not None
    assert seconds(one(upstream, "keepalive_timeout")[0]) < gunicorn.keepalive
    assert one(upstream, "server") == gunicorn.bind
    assert gunicorn.worker_class_str == "gthread" and gunicorn.threads > 1
    assert gunicorn.graceful_timeout <= gunicorn.timeout


def test_the_readme_runs_what_docs_deploy_holds() -> None:
    """The production section starts gunicorn with this file and points at the nginx one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "gunicorn -c docs/deploy/gunicorn.conf.py geocrm.wsgi:app" in readme
    assert "docs/deploy/nginx.conf" in readme


def test_behind_the_proxy_the_client_address_is_the_forwarded_one() -> None:
    """geocrm.wsgi trusts one hop: remote_addr and the scheme come from nginx's headers."""
    from flask import Flask, request

    from geocrm.wsgi import behind_proxy

    app = behind_proxy(Flask("t"), 1)
    app.add_url_rule("/", "who", lambda: f"{request.remote_addr} {request.scheme}")
    answer = app.test_client().get("/", headers={"X-Forwarded-For": "203.0.113.7",
                                                 "X-Forwarded-Proto": "https"})
    assert answer.get_data(as_text=True) == "203.0.113.7 https"


def test_the_parser_rejects_broken_files() -> None:
    """The checks above mean something: a missing ';' or brace fails the parse."""
    for broken in ("server { listen 80 }", "server { listen 80;", "listen 80; }"):
        with pytest.raises(AssertionError):
            parse_nginx(broken)
    tree: Any = parse_nginx("a 1; b { c \"x y\"; }")
    assert tree[0].args == ["1"] and tree[1].block[0].args == ["x y"]
