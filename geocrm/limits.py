"""What the app accepts from a request before any view sees it: ids that fit, JSON that is sane.

Two kinds of input used to reach the database or the parser unchecked and answer 500:

* an id in a URL beyond the database's integer (``/accounts/99999999999``): PostgreSQL raises
  "integer out of range" for anything past 2**31 - 1, SQLite past 2**63 - 1. Every ``<int:…>``
  in a route now stops at 2**31 - 1, so such a URL is an ordinary 404 on both engines;
* a JSON body nested thousands of levels deep makes the parser recurse until Python's
  recursion limit. Bodies are limited in nesting (:data:`MAX_JSON_DEPTH`) and refused with 400.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, Map

MAX_DB_ID = 2**31 - 1  # PostgreSQL INTEGER; the smallest integer column of both engines
MAX_JSON_DEPTH = 32  # the deepest body the app itself sends is 5 levels (a sync batch)


def at_most_pattern(limit: int) -> str:
    """A regular expression for the decimal numbers 0..``limit`` (leading zeros allowed).

    The range is checked in the URL's pattern rather than after matching: a converter that
    matches and then refuses a value leaves werkzeug answering 405 for a method another rule of
    the same path allows, where "no such URL" (404) is the truth.
    """
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        if d != "0":
            rest = len(digits) - i - 1
            lower = "0" if d == "1" else f"[0-{int(d) - 1}]"
            options.append(digits[:i] + lower + (rf"\d{{{rest}}}" if rest else ""))
    options.append(digits)
    return "0*(?:" + "|".join(options) + ")"


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` that matches only ids a database column can hold (else the URL is a 404).

    Ids start at 1: an id of 0 reached views that read it as "none" (``/crm/segments/0/edit``
    opened a new segment's form) or validated the body before looking the object up (422
    instead of 404), so 0 is no URL either (issue 18's route sweep)."""

    regex = "(?=0*[1-9])" + at_most_pattern(MAX_DB_ID)

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DB_ID)
        super().__init__(url_map, *args, **kwargs)


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), iteratively."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


class LimitedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing bodies nested deeper than :data:`MAX_JSON_DEPTH`.

    ``request.get_json()`` turns the ``ValueError`` raised here into a 400 Bad Request, the same
    answer as for any other body that is not JSON.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON body nested too deeply") from exc
        if json_depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON body nested deeper than {MAX_JSON_DEPTH} levels")
        return value


def install(app: Flask) -> None:
    """Put the id converter and the JSON limits in place (before any blueprint is registered)."""
    app.url_map.converters["int"] = DatabaseIdConverter
    app.json_provider_class = LimitedJSONProvider
    app.json = LimitedJSONProvider(app)
