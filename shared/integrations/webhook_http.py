"""Webhooks over HTTP (Standard Webhooks): secrets and signing, one signed POST, and the
checks of a receiver's address (https only, no address inside our own network). The
only module of the webhooks that speaks HTTP or DNS: ``shared.creditor_link`` decides
what to send and when.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from standardwebhooks.webhooks import Webhook

from shared.core import clock
from shared.core.errors import FieldError

TIMEOUT = 10.0  # seconds, per request phase (connect, write, read)


USER_AGENT = "Skuldkoll-Webhooks/1.0"


LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


HttpClient = httpx.Client  # what a caller (a test) may pass to ``post``


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(endpoint_secrets: list[str], message_id: str, at: datetime, body: str) -> str:
    """The ``webhook-signature`` header: ``v1,<base64>`` per secret, space separated."""
    return " ".join(Webhook(s).sign(message_id, at, body) for s in endpoint_secrets)


def check_url(url: str | None, *, allow_local_http: bool = False) -> str:
    """The endpoint URL, normalised; a ``FieldError("url", …)`` saying what is wrong.
    Only https, except http to this machine in the demo and tests. Outside those, an
    address on this machine or a private network is refused (no requests from the
    platform into its own network)."""
    url = (url or "").strip()
    if not url:
        raise FieldError("url", "Ange adressen som ska ta emot händelserna.")
    if len(url) > 500:
        raise FieldError("url", "Högst 500 tecken.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise FieldError("url", "Adressen är inte en giltig URL.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FieldError(
            "url",
            "Ange en fullständig adress som börjar med https://, "
            "till exempel https://system.example.se/webhooks.",
        )
    if parsed.userinfo:
        raise FieldError(
            "url",
            "Adressen får inte innehålla användarnamn eller lösenord; "
            "meddelandena är signerade i stället.",
        )
    if parsed.fragment:
        raise FieldError("url", "Adressen får inte ha ett #-fragment.")
    host = parsed.host.lower().rstrip(".")
    local = host in LOCAL_HOSTS
    if parsed.scheme == "http" and not (local and allow_local_http):
        raise FieldError("url", "Adressen måste börja med https:// (krypterad förbindelse).")
    if not allow_local_http:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if local or host.endswith(".localhost") or (ip is not None and not ip.is_global):
            raise FieldError(
                "url", "Adressen måste nås från internet; en lokal eller privat adress går inte."
            )
    return str(parsed)


def resolves_inside(url: str) -> bool:
    """Whether the URL's host resolves to an address that is not on the internet
    (loopback, private, link-local...): checked again before each delivery, since a
    name that pointed outside when it was added may point inside later."""
    host = httpx.URL(url).host
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False  # not resolvable: the attempt fails with the connection error
    return any(not ipaddress.ip_address(info[4][0].split("%")[0]).is_global for info in infos)


@dataclass(frozen=True)
class Result:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(
    url: str,
    endpoint_secrets: list[str],
    message_id: str,
    body: str,
    http: HttpClient | None = None,
) -> Result:
    """One signed POST. Never raises for the receiver's failures: they are the result.
    Redirects are not followed (a 3xx is a failure), the response body is not read."""
    at = clock.wall_now()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(endpoint_secrets, message_id, at, body),
    }
    client = http or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    started = time.perf_counter()
    status, error = None, None
    try:
        with client.stream("POST", url, content=body.encode(), headers=headers) as response:
            status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status} {response.reason_phrase}".strip()
    except httpx.TimeoutException:
        error = f"Inget svar inom {TIMEOUT:g} s"
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if http is None:
            client.close()
    latency = round((time.perf_counter() - started) * 1000)
    return Result(status, latency, error[:300] if error else None)
