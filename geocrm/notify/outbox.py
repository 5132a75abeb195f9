"""What each person wants to be told, and the outbox the features write to.

A feature calls :func:`queue` inside its own transaction: the message is a row, committed with
the change it reports (or rolled back with it), and sent afterwards by
:func:`geocrm.notify.dispatch.send_due` in a background job. Messages are written in the
recipient's language when they are queued, so the job needs no request or locale of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, g, has_request_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from geocrm.extensions import db
from geocrm.i18n import default_locale
from geocrm.models import Notification, PushSubscription, User

KINDS: dict[str, Any] = {
    "digest": _l("Daily digest: today's route, tasks due and overdue, drift alerts"),
    "plan_published": _l("A plan of mine is published"),
    "task_assigned": _l("A task is assigned to me"),
    "daily_report": _l("Daily reports: my team's submitted, or a comment on mine"),
}
CHANNELS: dict[str, Any] = {"email": _l("Email"), "push": _l("Phone (push)")}
# What a person gets until they choose: everything by mail and push; reps' phones make push
# useful, the digest by mail is what managers read.
DEFAULT_CHOICES: dict[str, list[str]] = {
    "digest": ["email"],
    "plan_published": ["email", "push"],
    "task_assigned": ["email", "push"],
    "daily_report": ["email", "push"],
}


def choices(user: User) -> dict[str, list[str]]:
    """The channels ``user`` gets each kind on (their choice, else the default)."""
    saved = user.notify_prefs or {}
    return {kind: list(saved.get(kind, DEFAULT_CHOICES[kind])) for kind in KINDS}


def set_choices(user: User, chosen: Mapping[str, list[str]]) -> None:
    """Save ``user``'s choices (unknown kinds and channels are ignored). Flushes."""
    user.notify_prefs = {
        kind: [c for c in CHANNELS if c in (chosen.get(kind) or [])] for kind in KINDS
    }
    db.session.flush()


def queue(user: User, kind: str, render: Callable[[], tuple[str, str]],
          url: str | None = None) -> list[Notification]:
    """Add ``kind``'s message for ``user`` on each channel they chose; flushes, never sends.

    ``render`` returns (subject, body) and runs in the recipient's language. Nothing is queued
    for a deactivated person, for push without a registered phone, or for mail without an
    address.
    """
    if kind not in KINDS and kind != "test":
        raise ValueError(f"unknown notification kind {kind!r}")
    if not user.active:
        return []
    channels = choices(user).get(kind, []) if kind != "test" else list(CHANNELS)
    if "push" in channels and db.session.scalar(
        select(func.count(PushSubscription.id)).where(PushSubscription.user_id == user.id)
    ) == 0:
        channels = [c for c in channels if c != "push"]
    if not (user.email and current_app.config.get("GEOCRM_SMTP_HOST")):
        channels = [c for c in channels if c != "email"]  # no mail set up: nothing to keep
    if not channels:
        return []
    with force_locale(user.locale or default_locale()):
        subject, body = render()
    rows = [Notification(user_id=user.id, kind=kind, channel=c, subject=subject[:200],
                         body=body, url=url) for c in channels]
    db.session.add_all(rows)
    db.session.flush()
    if has_request_context():
        g.notify_pending = True  # geocrm.notify.dispatch sends them after the response
    return rows


def queue_mail_to(email: str, kind: str, subject: str, body: str,
                  url: str | None = None) -> Notification | None:
    """Mail someone who has no account yet (an invitation); None when mail is not set up.

    The body may carry a one-time link: the dispatcher blanks it once sent, so the outbox
    does not keep a usable link.
    """
    if not current_app.config.get("GEOCRM_SMTP_HOST"):
        return None
    row = Notification(user_id=None, to_email=email, kind=kind, channel="email",
                       subject=subject[:200], body=body, url=url)
    db.session.add(row)
    db.session.flush()
    if has_request_context():
        g.notify_pending = True
    return row
