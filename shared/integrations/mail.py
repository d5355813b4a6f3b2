"""Sending e-mail: SMTP when ``SMTP_URL`` is set, otherwise the dev outbox (the
message stays in the database and the demo shows it on /dev/mail)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage as MimeMessage
from urllib.parse import unquote, urlsplit

SENDER = "Skuldkoll <no-reply@skuldkoll.se>"


def send(smtp_url: str | None, to: str, subject: str, body: str, message_id: str) -> str:
    """Send one message; returns the transport used. ``message_id`` makes retries
    recognisable to the receiving server as the same message."""
    if not smtp_url:
        return "dev-outbox"
    url = urlsplit(smtp_url)  # smtp://user:pass@host:587 or smtps://...
    mime = MimeMessage()
    mime["From"], mime["To"], mime["Subject"] = SENDER, to, subject
    mime["Message-ID"] = f"<{message_id}@skuldkoll.se>"
    mime.set_content(body)
    cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with cls(
        url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 587), timeout=30
    ) as smtp:
        if url.scheme == "smtp":
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(mime)
    return "smtp"
