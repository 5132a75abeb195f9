"""Reach the app's ES modules from browser tests, the way the page itself does.

The front end publishes nothing on ``window`` (docs/frontend.md): a page module exports its
handle (``territoryMap``, ``territoryEditor``) and the field app's outbox is a module too.
A dynamic ``import()`` of the URL the page loaded returns the page's own instance of the
module, so tests see the same objects the page works with.
"""

from __future__ import annotations

import json
from typing import Any

FIELD_OUTBOX = "/static/field/js/outbox.js"
TERRITORY_MAP = "/static/js/territory_map.js"
TERRITORY_EDITOR = "/static/js/territory_editor.js"


def with_module(page: Any, module: str, function: str, arg: Any = None) -> Any:
    """Evaluate the JS ``function(mod, arg)`` with the page's instance of ``module``, awaited."""
    source = (
        f"async (arg) => {{ const mod = await import({json.dumps(module)}); "
        f"return await ({function})(mod, arg); }}"
    )
    return page.evaluate(source, arg)


def expose(page: Any, module: str, export: str) -> None:
    """Bind a module export to ``window[export]`` for synchronous test expressions
    (``wait_for_function`` does not await promises). Test-only; gone after a navigation."""
    name = json.dumps(export)
    with_module(page, module, f"(mod) => {{ window[{name}] = mod[{name}]; }}")
