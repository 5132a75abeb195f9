"""What GeoCRM tells people: an outbox of messages, and the phones that accept push messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from geocrm.extensions import db
from geocrm.models.types import utcnow


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """One message to one person on one channel, written in the same transaction as the event.

    An outbox: the request that assigns a task only adds a row; a background job sends it, and
    retries with back-off when the mail server or push service fails, so nothing is sent
    inside a request and nothing is lost when a send fails.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the recipient; None for mail to someone without an account yet (an invitation)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    to_email: Mapped[str | None] = mapped_column(String(254))  # when there is no user_id
    # digest, plan_published, task_assigned, invitation, password_reset, test
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))  # email, push
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(300))  # where the message leads (a path)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class PushSubscription(db.Model):  # type: ignore[name-defined,misc]
    """A browser's Web Push endpoint and keys (RFC 8291), registered by the installed field app."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
