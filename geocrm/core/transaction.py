"""One transaction owner: services flush, the entry point commits or rolls back.

A service never commits: it adds, changes and flushes in the caller's transaction, so
several services can make one change together (an offline edit and its sync record, a
merge and its audit entry) and a failure halfway leaves nothing behind. Whoever received
the request decides:

* a **view** that writes is decorated with :func:`commits` — its answer commits (a 4xx
  answer, e.g. a form shown again with its errors, or an exception rolls back);
* a **CLI command**, the **sync batch** and the **job runner** wrap their unit of work in
  :func:`transaction`.

``tests/geocrm/core/test_transaction.py`` checks that every route that takes a POST,
PUT, PATCH or DELETE is a :func:`commits` view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from flask import current_app

from geocrm.extensions import db

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute :func:`commits` sets on a view (``functools.wraps`` carries it outwards).
MARK = "geocrm_commits"


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block wrote; roll all of it back if the block (or the commit) fails."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def commits(view: F) -> F:
    """Make a view the owner of its transaction: commit on a 1xx-3xx answer, else roll back.

    The answer is turned into a response first, so a ``(body, 422)`` tuple or a
    redirect is judged by its real status code.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _rollback_on_error():
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code >= 400:
                db.session.rollback()
            else:
                db.session.commit()
        return response

    setattr(wrapper, MARK, True)
    return wrapper  # type: ignore[return-value]


@contextmanager
def _rollback_on_error() -> Iterator[None]:
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
