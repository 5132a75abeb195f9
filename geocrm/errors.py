"""The exception hierarchy and the handlers that turn it into pages or JSON problems.

Services raise these; views and the API never build error responses by hand. A 500
rolls the session back so one failed request cannot leave a half-written transaction.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES as HTTP_STATUS_NAMES

from geocrm.extensions import db


class GeocrmError(Exception):
    """Root of every domain error; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(GeocrmError):
    """Bad input: names the field (and the row, for imports) and why."""

    status = 422

    def __init__(self, field: str, reason: str, *, row: int | None = None) -> None:
        super().__init__(field_message(field, reason, row), field=field, row=row)
        self.field = field
        self.reason = reason
        self.row = row


#: Field keys as a person reads them. A ValidationError's message names its field by these
#: words (the key itself stays in the problem's ``field`` for programs): "cutter: …" must not
#: reach a Korean reader as an English key.
FIELD_LABELS: dict[str, Any] = {
    "file": _l("file"), "body": _l("request body"), "name": _l("name"),
    "rep_id": _l("rep"), "rep": _l("rep"), "reps": _l("reps"), "rep_ids": _l("reps"),
    "mapping": _l("column mapping"), "territories": _l("territories"),
    "territory": _l("territory"), "territory_id": _l("territory"), "lat": _l("latitude"),
    "lon": _l("longitude"), "polygon": _l("polygon"), "geometry": _l("shape"),
    "cutter": _l("dividing line or shape"), "start": _l("start date"), "end": _l("end date"),
    "email": _l("email"), "dropin": _l("drop-in visit"), "days": _l("days"), "day": _l("day"),
    "at": _l("time"), "url": _l("URL"), "units": _l("units"), "scopes": _l("scopes"),
    "places": _l("places"), "photo": _l("photo"), "photo.data": _l("photo"),
    "outcome": _l("outcome"), "segment": _l("segment"), "role": _l("role"),
    "owner": _l("owner"), "owner_id": _l("owner"), "kind": _l("kind"), "home": _l("home"),
    "func": _l("job"), "events": _l("events"), "crs": _l("coordinate system"),
    "area": _l("area"), "area_file": _l("area file"), "account_ids": _l("accounts"),
    "account_id": _l("account"), "account": _l("account"), "value": _l("value"),
    "user": _l("user"), "target": _l("target"), "stop": _l("stop"),
    "priority": _l("priority"), "plan": _l("plan"), "plan_id": _l("plan"),
    "pins": _l("pinned visits"), "locks": _l("locked visits"), "mode": _l("mode"),
    "manager": _l("manager"), "endpoint": _l("endpoint"), "direction": _l("direction"),
    "confirm": _l("confirmation"), "colour": _l("colour"), "color": _l("colour"),
    "cell_km": _l("cell size (km)"), "campaign": _l("campaign"), "action": _l("action"),
    "work_start": _l("working day starts"), "work_end": _l("working day ends"),
    "work_days": _l("working days"), "lunch_start": _l("lunch starts"),
    "lunch_minutes": _l("lunch minutes"), "max_visits": _l("most visits a day"),
    "window": _l("time window"), "vehicle": _l("vehicle"), "speed_kmh": _l("speed (km/h)"),
    "skills": _l("skills"), "time_limit_s": _l("time limit (s)"), "task": _l("task"),
    "stage": _l("stage"), "stages": _l("stages"), "sort": _l("sort"),
    "cursor": _l("cursor"), "updated_since": _l("updated since"), "sheet": _l("sheet"),
    "layer": _l("layer"), "name_column": _l("name column"), "encoding": _l("encoding"),
    "header": _l("header row"), "notes": _l("notes"), "next_step": _l("next step"),
    "occurred_at": _l("date and time"), "due": _l("due"), "description": _l("description"),
    "cadence": _l("visit cadence"), "region": _l("region"), "extract": _l("extract"),
    "current_password": _l("current password"), "password": _l("password"),
    "position": _l("position"), "nav_app": _l("navigation app"), "group": _l("group"),
    "items": _l("items"), "changes": _l("changes"), "features": _l("features"),
    "merged_id": _l("merged account"), "interaction_id": _l("interaction"),
    "route_stop_id": _l("stop"), "max_value": _l("maximum value"), "view": _l("view"),
    "check": _l("check"), "key": _l("key"), "params": _l("parameters"),
    "phone": _l("phone"), "address": _l("address"), "city": _l("city"),
    "postcode": _l("postcode"), "website": _l("website"), "locale": _l("language"),
    "amount": _l("amount"), "title": _l("title"), "unassigned": _l("unassigned"),
}


def field_label(field: str) -> str | None:
    """A field key in the reader's words: the key's label, else its last known part's
    (``changes.phone``, ``items.3.name``); ``None`` for a key nobody named."""
    key = str(field)
    for part in (key, *reversed(key.split("."))):
        found = FIELD_LABELS.get(part)
        if found is not None:
            return str(found)
    return None


def field_message(field: str, reason: str, row: int | None = None) -> str:
    """"row 3, name: is required" in the reader's language.

    English keeps the key as written (programs and logs read it); another language shows a
    known field's label, and leaves an unknown key out (the form, or the problem's ``field``,
    says which field it is).
    """
    label = str(field) if _locale_language() == "en" else field_label(field)
    text = _("%(field)s: %(reason)s", field=label, reason=reason) if label else str(reason)
    if row is not None:
        text = _("row %(num)s, %(problem)s", num=row, problem=text)
    return text


def _locale_language() -> str:
    try:
        from flask_babel import get_locale

        locale = get_locale()
    except RuntimeError:  # no app: the source language
        return "en"
    return locale.language if locale is not None else "en"


class NotFoundError(GeocrmError):
    """Missing, or not visible to this user: both answer 404 so ids leak nothing."""

    status = 404


class PermissionDenied(GeocrmError):
    status = 403


class ConflictError(GeocrmError):
    status = 409


class PreconditionFailed(GeocrmError):
    """A write that named a version (``If-Match``) other than the stored one: 412."""

    status = 412


def wants_json() -> bool:
    """API routes and clients that ask for JSON get problem documents, others get pages."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


#: Problem titles in the reader's language (RFC 9457 lets a title vary only by language).
#: The English name stays in ``code`` for programs (``ValidationError``, ``Not Found``).
_PROBLEM_TITLES = {
    "ValidationError": _l("Invalid input"),
    "NotFoundError": _l("Not found"),
    "PermissionDenied": _l("Not allowed"),
    "ConflictError": _l("Conflict"),
    "PreconditionFailed": _l("Changed since you read it"),
    "GeocrmError": _l("Request failed"),
}
_STATUS_TITLES = {
    400: _l("Bad request"),
    401: _l("Sign-in required"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    412: _l("Changed since you read it"),
    413: _l("Too large"),
    422: _l("Invalid input"),
    429: _l("Too many requests"),
    500: _l("Internal server error"),
    502: _l("Bad gateway"),
    503: _l("Service unavailable"),
}


def problem_title(status: int, title: str) -> str:
    """A problem's title for a person: ours for a known error name or status, else as given."""
    found = _PROBLEM_TITLES.get(title)
    if found is None and title in (HTTP_STATUS_NAMES.get(status), "Error"):
        found = _STATUS_TITLES.get(status)
    return str(found) if found is not None else title


def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    """An RFC 9457 problem document; ``title`` in the reader's language, ``code`` the stable
    English name a program can test."""
    extra.setdefault("code", title)
    body = {"type": "about:blank", "title": problem_title(status, title), "status": status,
            "detail": detail, **extra}
    response = jsonify({k: v for k, v in body.items() if v is not None})
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


#: What the common HTTP errors say to a person, in their language (werkzeug's are English).
_HTTP_MESSAGES = {
    400: _l("The request could not be understood. Check the form and try again."),
    401: _l("Sign in first."),
    403: _l("You do not have permission to see this page."),
    404: _l("This page does not exist, or you cannot see it."),
    405: _l("This address does not accept that kind of request."),
    413: _l("The file is too large."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("Something broke. The error was logged."),
}


def _http_message(err: HTTPException) -> str:
    """A view's own description as written; werkzeug's stock English replaced by ours."""
    status = err.code or 500
    stock = err.description is None or err.description == type(err).description
    if stock and status in _HTTP_MESSAGES:
        return str(_HTTP_MESSAGES[status])
    return err.description or err.name


def register_error_handlers(app: Flask) -> None:
    """Render domain and HTTP errors as HTML pages or JSON problems."""

    @app.errorhandler(GeocrmError)
    def _domain(err: GeocrmError) -> Any:
        if err.status >= 500:
            db.session.rollback()
        if wants_json():
            return problem(err.status, type(err).__name__, err.message, **err.details)
        return render_template("errors/error.html", status=err.status, message=err.message), (
            err.status
        )

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        if wants_json():
            return problem(status, err.name, err.description or "")
        return render_template(
            "errors/error.html", status=status, message=_http_message(err)
        ), status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Any:
        db.session.rollback()
        app.logger.exception("unhandled error")
        if app.config.get("PROPAGATE_EXCEPTIONS") or app.testing:
            raise err
        if wants_json():
            return problem(500, "Internal Server Error", _("The error was logged."))
        return render_template("errors/error.html", status=500, message=_("Something broke.")), 500
