"""Mail over SMTP: one message, plain text in UTF-8 (Korean and Japanese names intact)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any


class MailNotConfigured(RuntimeError):
    """GEOCRM_SMTP_HOST is empty: mail stays queued until it is set."""


def send_mail(config: Mapping[str, Any], to: str, subject: str, body: str, *,
              to_name: str | None = None) -> str:
    """Send one message; returns its Message-ID. Raises on any SMTP failure (the caller
    retries)."""
    host = config.get("GEOCRM_SMTP_HOST")
    if not host:
        raise MailNotConfigured("GEOCRM_SMTP_HOST is not set")
    sender = config.get("GEOCRM_MAIL_FROM") or f"geocrm@{host}"
    message = EmailMessage()
    message["From"] = formataddr(("GeoCRM", sender))
    message["To"] = formataddr((to_name or "", to))
    message["Subject"] = subject
    message_id = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Message-ID"] = message_id
    message.set_content(body, charset="utf-8")
    port = int(config.get("GEOCRM_SMTP_PORT") or 587)
    with smtplib.SMTP(host, port, timeout=20) as smtp:
        if config.get("GEOCRM_SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("GEOCRM_SMTP_USER"):
            smtp.login(config["GEOCRM_SMTP_USER"], config.get("GEOCRM_SMTP_PASSWORD") or "")
        smtp.send_message(message)
    return message_id
