"""Request validation and the OpenAPI document from one declaration per view.

``@api_schema(query=Model, body=Model, responses={200: Model})`` does two things with the
same pydantic models, so the contract cannot drift from the code:

* at request time it parses ``request.args`` into ``query`` and the JSON body into ``body``
  and passes them to the view as keyword arguments; a bad value is a 422 problem document
  naming the field (the view never sees unchecked input);
* :mod:`geocrm.api.openapi` reads the declaration (kept on the view as ``api_spec``) to
  describe the query parameters, the request body, every response and the problems each
  operation can answer.

Problems: 401 (every API route needs a session or a token), 400 (malformed JSON, a missing
CSRF header), 422 for a query or body, 404 for a path id, and whatever a view declares in
``errors`` (403 roles, 409 conflicts, 412 a stale ``If-Match``, 428 a missing one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, get_args, get_origin

import pydantic
from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict

from geocrm.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])


class Schema(BaseModel):
    """Base of the API's models: unknown keys are refused (a typo is not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class Loose(BaseModel):
    """Base of response models: they describe what the API sends; readers ignore extras."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class ApiSpec:
    """What one view declares: its inputs, its success responses and its extra problems."""

    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    responses: Mapping[int, type[BaseModel] | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    body_content: str = "application/json"
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(_is_list(a) for a in get_args(annotation) if a is not type(None))


def _first_error(err: pydantic.ValidationError) -> ValidationError:
    """The first problem pydantic found, as our 422 naming the field (``items.3.name``)."""
    first = err.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return ValidationError(where, str(first["msg"]))


def parse_query(model: type[BaseModel]) -> BaseModel:
    """``request.args`` as ``model``: list fields take every value, the others the first."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in request.args:
            continue
        values = [v for v in request.args.getlist(key)]
        data[key] = values if _is_list(info.annotation) else values[0]
    unknown = sorted(set(request.args) - {i.alias or n for n, i in model.model_fields.items()})
    if unknown and model.model_config.get("extra") == "forbid":
        raise ValidationError(unknown[0], _("is not a parameter of this operation"))
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as err:
        raise _first_error(err) from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The JSON body as ``model``; anything but a JSON value of the right shape is a 422."""
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationError("body", _("must be JSON (Content-Type: application/json)"))
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as err:
        raise _first_error(err) from None


def api_schema(
    *,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    responses: Mapping[int, type[BaseModel] | None] | None = None,
    errors: Iterable[int] = (),
    body_content: str = "application/json",
    headers: Mapping[int, Mapping[str, str]] | None = None,
) -> Callable[[F], F]:
    """Validate the view's inputs with pydantic and describe the operation in the document.

    The view receives ``query=`` and/or ``body=`` keyword arguments (validated models). Put it
    under ``@bp.route`` and ``@login_required`` so authentication answers before validation.
    ``body_content`` other than JSON (an upload) is documented but left to the view to read.
    """
    spec = ApiSpec(query, body, dict(responses or {200: None}), tuple(errors), body_content,
                   dict(headers or {}))

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None and body_content == "application/json":
                kwargs["body"] = parse_body(body)
            return view(*args, **kwargs)

        wrapped.api_spec = spec  # type: ignore[attr-defined]  # read by openapi.py
        return wrapped  # type: ignore[return-value]

    return decorator


def spec_of(view: Callable[..., Any]) -> ApiSpec | None:
    """The declaration of a view (``functools.wraps`` carries it through outer decorators)."""
    found = getattr(view, "api_spec", None)
    return found if isinstance(found, ApiSpec) else None


def component_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """JSON Schemas of ``models`` and every model they use, keyed by model name."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            out[name] = sub
        out[model.__name__] = schema
    return out


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query model's fields as OpenAPI parameters (a list repeats: ``?stage=a&stage=b``)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:  # ``X | None``: a query either has the value or leaves it out
            prop.update(options[0])
            if prop.get("default", 0) is None:
                del prop["default"]
        elif options:
            prop["anyOf"] = options
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        if _is_list(model.model_fields[name].annotation):
            param.update(style="form", explode=True)
        params.append(param)
    return params
