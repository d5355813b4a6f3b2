"""Sending mail over SMTP: the connection is encrypted and the server's certificate
verified (the mails carry signing links), against a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller

from shared.core.config import ConfigError, Settings, load
from shared.integrations import mail
from tests.factories.network import Certificates, certificates


class Inbox:
    """aiosmtpd's handler: keeps each message and whether it came over TLS."""

    def __init__(self):
        self.messages: list[tuple[bytes, bool]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append((envelope.content, over_tls))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_context(certs: Certificates) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert, certs.key)
    return context


@contextmanager
def smtp_server(certs: Certificates | None, *, implicit: bool = False) -> Iterator[tuple]:
    """On 127.0.0.1: STARTTLS offered and required (``certs``), TLS from the first byte
    (``implicit``), or no TLS at all (no ``certs``). Yields (port, inbox)."""
    inbox, port = Inbox(), free_port()
    kwargs: dict = {}
    if certs is not None and implicit:
        kwargs["ssl_context"] = server_context(certs)
    elif certs is not None:
        kwargs.update(tls_context=server_context(certs), require_starttls=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def certs(tmp_path) -> Certificates:
    return certificates(tmp_path / "smtp", "127.0.0.1", "mail.skuldkoll.test")


def send(url: str, **settings) -> str:
    return mail.send(
        Settings(smtp_url=url, **settings), "a@example.se", "Signera", "Länk: …", "m-1"
    )


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtps"])
def test_a_certificate_the_system_does_not_trust_gets_no_mail(certs, implicit):
    scheme = "smtps" if implicit else "smtp+starttls"
    refused = pytest.raises(ssl.SSLCertVerificationError)
    with smtp_server(certs, implicit=implicit) as (port, inbox), refused:
        send(f"{scheme}://127.0.0.1:{port}")
    assert inbox.messages == []


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtps"])
def test_with_the_servers_ca_configured_the_mail_goes_encrypted(certs, implicit):
    scheme = "smtps" if implicit else "smtp+starttls"
    with smtp_server(certs, implicit=implicit) as (port, inbox):
        assert send(f"{scheme}://127.0.0.1:{port}", smtp_ca_file=str(certs.ca)) == "smtp"
    [(content, over_tls)] = inbox.messages
    assert over_tls and b"Subject: Signera" in content


def test_a_certificate_for_another_host_is_refused(tmp_path):
    other = certificates(tmp_path / "other", "mail.elsewhere.test")
    with smtp_server(other) as (port, inbox), pytest.raises(ssl.SSLCertVerificationError):
        send(f"smtp+starttls://127.0.0.1:{port}", smtp_ca_file=str(other.ca))
    assert inbox.messages == []


def test_starttls_is_required_when_asked_for(certs):
    """A server (or a man in the middle) that does not offer STARTTLS gets nothing."""
    with smtp_server(None) as (port, inbox), pytest.raises(smtplib.SMTPNotSupportedError):
        send(f"smtp+starttls://127.0.0.1:{port}", smtp_ca_file=str(certs.ca))
    assert inbox.messages == []


def test_plain_smtp_only_outside_production_or_when_allowed():
    with smtp_server(None) as (port, inbox):
        assert send(f"smtp://127.0.0.1:{port}") == "smtp"  # the demo's local catcher
        with pytest.raises(mail.MailConfigError):
            send(f"smtp://127.0.0.1:{port}", env="production")
        assert send(f"smtp://127.0.0.1:{port}", env="production", smtp_allow_plaintext=True)
    assert [over_tls for _content, over_tls in inbox.messages] == [False, False]
    with pytest.raises(mail.MailConfigError):
        send("smtpx://127.0.0.1:25")


@pytest.mark.parametrize(
    ("url", "allow", "refused"),
    [
        ("smtp+starttls://mail.example.se:587", None, False),
        ("smtps://mail.example.se", None, False),
        ("smtp://mail.example.se:587", None, True),
        ("smtp://127.0.0.1:25", "1", False),
        ("http://mail.example.se", "1", True),
    ],
)
def test_production_starts_only_with_an_encrypted_smtp_url(tmp_path, url, allow, refused):
    env = {"SKULDKOLL_ENV": "production", "SMTP_URL": url, "INSTANCE_DIR": str(tmp_path)}
    if allow:
        env["SMTP_ALLOW_PLAINTEXT"] = allow
    with pytest.raises(ConfigError) as err:
        load(env)  # refused anyway for the demo secrets; the question is SMTP_URL
    assert ("SMTP_URL" in str(err.value)) is refused
