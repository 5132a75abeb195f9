"""Models of the field app (issue 5): API tokens, sync records, conflicts and visit photos.

The phone's outbox gives every write a client-generated id; :class:`SyncRecord` keeps that
id with the answer the server gave, so a replay (after a lost response, a Background Sync
racing an ``online`` handler, or a re-sent outbox) answers the stored result instead of
applying the write twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geocrm.extensions import db
from geocrm.models.types import utcnow


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A personal bearer token for the JSON API; only its SHA-256 is stored.

    Tokens are 256-bit random strings, so a fast hash is enough (nothing to brute-force);
    ``prefix`` lets a user recognise a token in the list without it being usable.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: what the token may do, space-separated: ``read``, ``write``, ``admin`` (issue 18);
    #: tokens made before scopes existed keep the rights they had (all three)
    scopes: Mapped[str] = mapped_column(String(40), default="read write",
                                        server_default="read write admin")

    user = relationship("User")


class SyncRecord(db.Model):  # type: ignore[name-defined,misc]
    """One applied (or rejected) outbox write, keyed by its client-generated id.

    The unique ``client_id`` is the exactly-once guarantee: the record is inserted in the
    same transaction as the write it stands for, so two concurrent replays cannot both win.
    """

    __tablename__ = "sync_records"
    __table_args__ = (Index("ix_sync_records_user_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    op: Mapped[str] = mapped_column(String(24))
    status: Mapped[int] = mapped_column(Integer)  # HTTP-like status of the stored answer
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SyncConflict(db.Model):  # type: ignore[name-defined,misc]
    """A field of an account edited on the phone and, meanwhile, on the server.

    Last writer wins per field; the losing value is kept here so a manager can see it.
    """

    __tablename__ = "sync_conflicts"
    __table_args__ = (Index("ix_sync_conflicts_account", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(40))
    client_value: Mapped[Any] = mapped_column(JSON)
    server_value: Mapped[Any] = mapped_column(JSON)
    client_edited_at: Mapped[datetime] = mapped_column(DateTime)
    server_edited_at: Mapped[datetime] = mapped_column(DateTime)
    winner: Mapped[str] = mapped_column(String(8))  # "client" or "server"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class VisitPhoto(db.Model):  # type: ignore[name-defined,misc]
    """A photo taken at a visit, already shrunk on the phone; bytes in the database.

    Kept in the database (size-limited by the service) so backups, scoping and the
    exactly-once sync cover photos like every other write; no files to keep in step.
    """

    __tablename__ = "visit_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    caption: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
