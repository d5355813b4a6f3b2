"""Sending e-mail: SMTP when ``SMTP_URL`` is set, otherwise the dev outbox (the
message stays in the database and the demo shows it on /dev/mail).

The mails carry signing links, so the connection is encrypted and the server's
certificate verified (``ssl.create_default_context()``: the system's CAs, or
``SMTP_CA_FILE``; the host name checked):

* ``smtp+starttls://user:pass@host:587`` - STARTTLS, required (a server that does not
  offer it gets no message);
* ``smtps://user:pass@host:465`` - TLS from the first byte (implicit TLS);
* ``smtp://host:25`` - no encryption at all: for a local catcher in the demo and tests;
  production refuses it unless ``SMTP_ALLOW_PLAINTEXT`` says so (a relay on the same
  host), both at start (``Settings.check``) and here.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from urllib.parse import unquote, urlsplit

from shared.core.config import Settings

SENDER = "Skuldkoll <no-reply@skuldkoll.se>"
TIMEOUT = 30  # seconds
SCHEMES = {"smtp+starttls": 587, "smtps": 465, "smtp": 25}


class MailConfigError(RuntimeError):
    """SMTP_URL asks for something this module refuses to do."""


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate and host name verified, against ``ca_file`` when given."""
    return ssl.create_default_context(cafile=ca_file)


def send(settings: Settings, to: str, subject: str, body: str, message_id: str) -> str:
    """Send one message; returns the transport used. ``message_id`` makes retries
    recognisable to the receiving server as the same message. A certificate that does
    not verify raises ``ssl.SSLError`` (the job is retried, nothing was sent)."""
    if not settings.smtp_url:
        return "dev-outbox"
    url = urlsplit(settings.smtp_url)
    if url.scheme not in SCHEMES:
        raise MailConfigError(
            f"SMTP_URL scheme {url.scheme!r}: use smtp+starttls://, smtps:// or smtp://"
        )
    if url.scheme == "smtp" and settings.env == "production" and not settings.smtp_allow_plaintext:
        raise MailConfigError("SMTP_URL smtp:// sends without TLS; set SMTP_ALLOW_PLAINTEXT")
    mime = MimeMessage()
    mime["From"], mime["To"], mime["Subject"] = SENDER, to, subject
    mime["Message-ID"] = f"<{message_id}@skuldkoll.se>"
    mime.set_content(body)
    host, port = url.hostname or "localhost", url.port or SCHEMES[url.scheme]
    context = tls_context(settings.smtp_ca_file)
    if url.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
    with smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls(context=context)  # SMTPNotSupportedError if not offered
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(mime)
    return "smtp"
