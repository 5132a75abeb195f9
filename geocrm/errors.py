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
        where = f"row {row}, " if row is not None else ""
        super().__init__(f"{where}{field}: {reason}", field=field, row=row)
        self.field = field
        self.reason = reason
        self.row = row


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
