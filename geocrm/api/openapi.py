"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Paths come from the URL map (so a new route cannot be forgotten) with the view's docstring
as summary; request bodies of the writes are described here by hand.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify
from pydantic import BaseModel
from werkzeug.http import HTTP_STATUS_CODES

from geocrm.api import bp
from geocrm.api.schema import component_schemas, query_parameters, spec_of
from geocrm.core.addresses import PARTS
from geocrm.field.services import OUTCOMES
from geocrm.field.sync import OPS
from geocrm.limits import MAX_DB_ID

_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_POSITION = {
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "lon": {"type": "number", "minimum": -180, "maximum": 180},
    "accuracy": {"type": "number", "minimum": 0, "description": "metres"},
}
SCHEMAS: dict[str, Any] = {
    "PinCorrection": {
        "type": "object",
        "required": ["interaction_id"],
        "properties": {"interaction_id": {"type": "integer"}},
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem document; `field` names the bad input.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "stable English name for programs"},
            "field": {"type": "string"},
        },
    },
    "CheckIn": {
        "type": "object",
        "required": ["uuid", "account_id"],
        "description": "Without lat/lon the visit is kept and flagged `no_location`; farther "
        "than GEOCRM_GEOFENCE_METERS it is kept and flagged `outside_geofence`.",
        "properties": {
            "uuid": _UUID,
            "account_id": {"type": "integer"},
            "route_stop_id": {"type": "integer"},
            "at": _TIME,
            **_POSITION,
        },
    },
    "CheckOut": {
        "type": "object",
        "required": ["uuid"],
        "properties": {"uuid": _UUID, "at": _TIME, **_POSITION},
    },
    "Interaction": {
        "type": "object",
        "required": ["uuid", "account_id", "outcome"],
        "properties": {
            "uuid": {**_UUID, "description": "a visit's uuid completes that visit"},
            "account_id": {"type": "integer"},
            "kind": {"enum": ["visit", "call", "email", "note", "campaign_response"]},
            "outcome": {"enum": list(OUTCOMES)},
            "notes": {"type": "string", "maxLength": 4000},
            "next_step": {"type": "string", "maxLength": 1000},
            "at": _TIME,
            "task": {
                "type": "object",
                "properties": {
                    "uuid": _UUID,
                    "title": {"type": "string"},
                    "due_date": {"type": "string", "format": "date"},
                },
            },
            "photo": {
                "type": "object",
                "properties": {
                    "data": {"type": "string", "contentEncoding": "base64"},
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                },
            },
        },
    },
    "Task": {
        "type": "object",
        "required": ["uuid", "account_id", "title"],
        "properties": {
            "uuid": _UUID,
            "account_id": {"type": "integer"},
            "title": {"type": "string", "maxLength": 200},
            "notes": {"type": "string"},
            "due_date": {"type": "string", "format": "date"},
        },
    },
    "AccountHere": {
        "type": "object",
        "required": ["uuid", "name", "lat", "lon"],
        "properties": {
            "uuid": _UUID,
            "name": {"type": "string"},
            "address": {"type": "string"},
            "name_reading": {"type": "string", "description": "フリガナ (Japanese accounts)"},
            "country": {"type": "string", "description": "ISO 3166 alpha-2"},
            **{part: {"type": "string"} for part in PARTS},
            "phone": {"type": "string"},
            "email": {"type": "string"},
            "contact_name": {"type": "string"},
            **_POSITION,
        },
    },
    "SyncBatch": {
        "type": "object",
        "required": ["ops"],
        "properties": {
            "ops": {
                "type": "array",
                "maxItems": 2000,
                "items": {
                    "type": "object",
                    "required": ["id", "op", "data"],
                    "properties": {
                        "id": {**_UUID, "description": "client-generated; applied once"},
                        "op": {"enum": list(OPS)},
                        "data": {
                            "type": "object",
                            "description": "the body of the matching single endpoint; "
                            "account_edit: {account_id, changes, edited_at, seen_at}",
                        },
                    },
                },
            }
        },
    },
}
BODIES = {
    ("/api/v1/checkins", "post"): "CheckIn",
    ("/api/v1/checkouts", "post"): "CheckOut",
    ("/api/v1/interactions", "post"): "Interaction",
    ("/api/v1/tasks", "post"): "Task",
    ("/api/v1/accounts", "post"): "AccountHere",
    ("/api/v1/sync", "post"): "SyncBatch",
    ("/api/v1/accounts/{account_id}/pin", "post"): "PinCorrection",
}


#: Problems every operation can answer: 400 a malformed request (JSON that does not parse, a
#: missing CSRF header on a session write, a token and a cookie at once), 401 no session or
#: token, 403 a token without the operation's scope (or a role that may not), 429 over the
#: rate limit. 422 is added where the operation reads a query or a body, 404 where it has a
#: path id, 413 where it takes a body.
COMMON_PROBLEMS = (400, 401, 403, 429)


def _problems(codes: set[int]) -> dict[str, Any]:
    return {str(c): {"$ref": "#/components/responses/Problem"} for c in sorted(codes)}


def _operation(path: str, method: str, rule_args: set[str], view: Any) -> tuple[
        dict[str, Any], list[type[BaseModel]]]:
    """One operation: from the view's ``@api_schema`` declaration when it has one."""
    spec = spec_of(view)
    models: list[type[BaseModel]] = []
    problems = set(COMMON_PROBLEMS)
    params: list[dict[str, Any]] = [
        {"name": a, "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_DB_ID}}
        for a in sorted(rule_args)
    ]
    if rule_args:
        problems.add(404)
    op: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    if spec is None:
        problems.add(422)
        responses["200"] = {"description": "OK"}
        schema = BODIES.get((path, method))
        if schema:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                },
            }
            responses["201"] = {"description": "Applied"}
            problems.update((404, 409, 413))  # the body names objects (an account, a visit)
    else:
        if spec.query is not None:
            params += query_parameters(spec.query)
            models.append(spec.query)  # the enums and models its parameters refer to
            problems.add(422)
        if spec.body is not None:
            models.append(spec.body)
            problems.update((413, 422))
            op["requestBody"] = {"required": True, "content": {spec.body_content: {
                "schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"}}}}
        problems.update(spec.errors)
        for status, model in spec.responses.items():
            described: dict[str, Any] = {"description": HTTP_STATUS_CODES.get(status, "OK")}
            if model is not None:
                models.append(model)
                described["content"] = {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
            if spec.headers.get(status):
                described["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                        for name, text in spec.headers[status].items()}
            responses[str(status)] = described
        if 412 in spec.errors:
            params.append({"name": "If-Match", "in": "header", "required": False,
                           "schema": {"type": "string"},
                           "description": "the ETag you read; 412 when the object changed"})
    if params:
        op["parameters"] = params
    op["responses"] = {**responses, **_problems(problems)}
    return op, models


def build_document() -> dict[str, Any]:
    """Walk the URL map of the current app and describe every ``/api/v1`` route."""
    paths: dict[str, dict[str, Any]] = {}
    models: list[type[BaseModel]] = []
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        view = current_app.view_functions[rule.endpoint]
        doc = (view.__doc__ or rule.endpoint).strip()
        summary = doc.splitlines()[0]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            m = method.lower()
            op, used = _operation(path, m, set(rule.arguments), view)
            models += used
            paths.setdefault(path, {})[m] = {
                "operationId": rule.endpoint.removeprefix("api.") + "_" + m,
                "summary": summary,
                **({"description": doc} if "\n" in doc else {}),
                **op,
            }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GeoCRM field API",
            "version": "1",
            "description": "Session cookie (unsafe methods need the X-CSRFToken header) or "
            "`Authorization: Bearer <token>` (no CSRF; not both). Writes carry a "
            "client-generated UUID and are applied exactly once.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": [], "csrfHeader": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**SCHEMAS, **component_schemas(models)},
            "responses": {
                "Problem": {
                    "description": "Problem document",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
        },
    }


@bp.route("/openapi.json")
def openapi_document() -> object:
    """This API described as OpenAPI 3.1."""
    return jsonify(build_document())
