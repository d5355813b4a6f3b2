"""Webhooks over HTTP (Standard Webhooks): secrets and signing, one signed POST, and the
checks of a receiver's address (https only, no address inside our own network). The
only module of the webhooks that speaks HTTP or DNS: ``shared.creditor_link`` decides
what to send and when.

An address inside is refused in every spelling: the numeric forms the C resolver
accepts (``2130706433``, ``0x7f000001``, ``127.1``, ``0177.0.0.1``), IPv6 with an IPv4
inside (``::ffff:127.0.0.1``, 6to4, Teredo, NAT64), unique-local and link-local IPv6,
``localhost.`` and ``*.localhost``, and names that resolve to such an address: when the
endpoint is added (``check_url``) and again before each delivery (``pinned_address``).
A delivery resolves the name once, checks every address, and connects to the checked
one (``post(..., pin=...)``: the URL's host replaced by the address, the name kept in
the ``Host`` header and as the TLS server name, so the certificate is checked for the
name), so a DNS answer that changes between the check and the connection (DNS
rebinding) cannot lead it inside.
"""

from __future__ import annotations

import base64
import ipaddress
import re
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
REFUSED_DELIVERY = "Adressen leder till ett lokalt eller privat nät; inget skickades."

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 spellings of inet_aton (and of browsers' URL parsers): one to four
    parts, each decimal, ``0x`` hexadecimal or ``0``-octal, the last filling the bytes
    that remain (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.fullmatch(p) for p in parts):
        return None
    try:
        numbers = [
            int(p[2:] or "0", 16) if p[:2].lower() == "0x" else int(p, 8 if p[0] == "0" else 10)
            for p in parts
        ]
    except ValueError:  # 08, 09: not octal
        return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    return ipaddress.IPv4Address(sum(n << 8 * (3 - i) for i, n in enumerate(head)) + last)


def host_address(host: str) -> IpAddress | None:
    """The address a URL's host spells, if it is one (not a name)."""
    bare = host.strip("[]").split("%")[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return _legacy_ipv4(bare.rstrip("."))


def is_inside(ip: IpAddress) -> bool:
    """Not an address on the internet: loopback, private, link-local, unique-local,
    shared, reserved, multicast, unspecified; or an IPv6 address with one inside it."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and is_inside(embedded):
            return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def resolve(host: str, port: int | None = None) -> list[IpAddress]:
    """Every address the host stands for (a literal, or the name's DNS answers); empty
    when the name does not resolve."""
    literal = host_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _named_local(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in LOCAL_HOSTS or host.endswith(".localhost")


class AddressRefused(Exception):
    """The receiver's host is inside, or does not resolve: nothing is sent."""


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
    local = parsed.host.lower().rstrip(".") in LOCAL_HOSTS
    if parsed.scheme == "http" and not (local and allow_local_http):
        raise FieldError("url", "Adressen måste börja med https:// (krypterad förbindelse).")
    if not allow_local_http and (
        _named_local(parsed.host) or any(is_inside(ip) for ip in resolve(parsed.host))
    ):
        # A name that does not resolve now is let through: DNS may not be set up yet,
        # and each delivery resolves and checks it again.
        raise FieldError(
            "url", "Adressen måste nås från internet; en lokal eller privat adress går inte."
        )
    return str(parsed)


def pinned_address(url: str) -> str:
    """Resolve the URL's host once and check every address: the one to connect to
    (``post(..., pin=...)``). Checked before each delivery, since a name that pointed
    outside when it was added may point inside later."""
    parsed = httpx.URL(url)
    if _named_local(parsed.host):
        raise AddressRefused(REFUSED_DELIVERY)
    addresses = resolve(parsed.host, parsed.port)
    if not addresses:
        raise AddressRefused(f"Namnet {parsed.host} gick inte att slå upp (DNS).")
    if any(is_inside(ip) for ip in addresses):
        raise AddressRefused(REFUSED_DELIVERY)
    return str(addresses[0])


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
    *,
    pin: str | None = None,
) -> Result:
    """One signed POST. Never raises for the receiver's failures: they are the result.
    Redirects are not followed (a 3xx is a failure), the response body is not read.
    ``pin``: the address to connect to (``pinned_address``), instead of resolving the
    name again; the name stays the ``Host`` and the TLS server name."""
    at = clock.wall_now()
    target: str | httpx.URL = url
    extensions = {}
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(endpoint_secrets, message_id, at, body),
    }
    if pin is not None:
        # A client of its own per POST (below), so no pooled connection made for one
        # name at this address carries a request for another.
        named = httpx.URL(url)
        headers["host"] = named.netloc.decode("ascii")
        extensions["sni_hostname"] = named.host
        target = named.copy_with(host=pin)
    client = http or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    started = time.perf_counter()
    status, error = None, None
    try:
        with client.stream(
            "POST", target, content=body.encode(), headers=headers, extensions=extensions
        ) as response:
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
