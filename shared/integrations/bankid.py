"""BankID Relying Party API v6.0: the client, the animated QR code and the user messages.

The same client talks to BankID's test or production service (mutual TLS with our RP
certificate and BankID's pinned CA) and to the local simulator (``simulators.bankid``)
in demo mode and tests; the caller cannot tell the difference.

Field names, hint codes, error codes and the recommended user messages (RFA) follow
BankID's RP guidelines for API v6.0 (see DOMAIN.md section 2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

API_PATH = "rp/v6.0/"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)

PENDING, FAILED, COMPLETE = "pending", "failed", "complete"

PENDING_HINTS = frozenset(
    {
        "outstandingTransaction",
        "noClient",
        "started",
        "userMrtd",
        "userCallConfirm",
        "userSign",
    }
)
FAILED_HINTS = frozenset(
    {
        "expiredTransaction",
        "certificateErr",
        "userCancel",
        "cancelled",
        "startFailed",
        "userDeclinedCall",
        "notSupportedByUserApp",
        "transactionRiskBlocked",
    }
)
ERROR_CODES = frozenset(
    {
        "alreadyInProgress",
        "invalidParameters",
        "unauthorized",
        "notFound",
        "methodNotAllowed",
        "requestTimeout",
        "unsupportedMediaType",
        "internalError",
        "maintenance",
        "tooManyRequests",
    }
)


def N_(message: str) -> str:  # noqa: N802 - Babel's marker for "extract, translate later"
    return message


# Recommended user messages (RFA), in Swedish as BankID prescribes them; the web layer
# shows BankID's English wording when the interface is in English.
RFA1 = N_("Starta BankID-appen.")
RFA3 = N_("Åtgärden avbruten. Försök igen.")
RFA4 = N_(
    "En identifiering eller underskrift för det här personnumret är redan påbörjad. Försök igen."
)
RFA5 = N_("Internt tekniskt fel. Försök igen.")
RFA6 = N_("Åtgärden avbruten.")
RFA8 = N_(
    "BankID-appen svarar inte. Kontrollera att den är startad och att du har "
    "internetanslutning. Om du inte har något giltigt BankID kan du skaffa ett hos din "
    "bank. Försök sedan igen."
)
RFA9 = N_("Skriv in din säkerhetskod i BankID-appen och välj Legitimera eller Skriv under.")
RFA13 = N_("Försöker starta BankID-appen.")
RFA14 = N_(
    "Söker efter BankID, det kan ta en liten stund… Om det har gått några sekunder och "
    "inget BankID har hittats har du sannolikt inget BankID som går att använda för den "
    "aktuella identifieringen/underskriften i den här enheten. Om du inte har något "
    "BankID kan du skaffa ett hos din bank."
)
RFA16 = N_(
    "Det BankID du försöker använda är för gammalt eller spärrat. Använd ett annat "
    "BankID eller skaffa ett nytt hos din bank."
)
RFA17 = N_(
    "Misslyckades att läsa av QR-koden. Starta BankID-appen och läs av QR-koden. "
    "Kontrollera att BankID-appen är uppdaterad. Om du inte har BankID-appen måste du "
    "installera den och skaffa ett BankID hos din bank. Installera appen från din "
    "appbutik eller https://install.bankid.com."
)
RFA21 = N_("Identifiering eller underskrift pågår.")
RFA22 = N_("Okänt fel. Försök igen.")
RFA23 = N_("Fotografera och läs av din ID-handling med BankID-appen.")

_PENDING_MESSAGES = {
    "noClient": RFA1,
    "started": RFA14,
    "userSign": RFA9,
    "userMrtd": RFA23,
}
_FAILED_MESSAGES = {
    "expiredTransaction": RFA8,
    "certificateErr": RFA16,
    "userCancel": RFA6,
    "cancelled": RFA3,
    "startFailed": RFA17,
}
_ERROR_MESSAGES = {
    "alreadyInProgress": RFA4,
    "internalError": RFA5,
    "maintenance": RFA5,
    "requestTimeout": RFA5,
}


class BankIdError(Exception):
    """An error answer from the RP API (``{errorCode, details}``), or no answer at all
    (``internalError`` with ``http_status`` None)."""

    def __init__(self, error_code: str, details: str = "", http_status: int | None = None):
        super().__init__(f"{error_code}: {details}" if details else error_code)
        self.error_code = error_code
        self.details = details
        self.http_status = http_status


@dataclass(frozen=True)
class OrderResponse:
    order_ref: str
    auto_start_token: str
    qr_start_token: str
    qr_start_secret: str


@dataclass(frozen=True)
class CollectResponse:
    order_ref: str
    status: str  # pending | failed | complete
    hint_code: str | None
    completion_data: dict[str, Any] | None


def b64(text: str) -> str:
    """Base64 of the UTF-8 bytes, as the API wants userVisibleData and userNonVisibleData."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def qr_data(qr_start_token: str, qr_start_secret: str, seconds: int) -> str:
    """Content of the animated QR code ``seconds`` whole seconds after the order started."""
    t = str(int(seconds))
    code = hmac.new(qr_start_secret.encode(), t.encode(), hashlib.sha256).hexdigest()
    return f"bankid.{qr_start_token}.{t}.{code}"


def user_message(
    status: str, hint_code: str | None, *, autostarted: bool = False, error_code: str | None = None
) -> str:
    """The RFA text to show for a collect result or an error code."""
    if error_code is not None:
        return _ERROR_MESSAGES.get(error_code, RFA22)
    if status == PENDING:
        if hint_code == "outstandingTransaction":
            return RFA13 if autostarted else RFA1
        return _PENDING_MESSAGES.get(hint_code or "", RFA21)
    if status == FAILED:
        return _FAILED_MESSAGES.get(hint_code or "", RFA22)
    return ""


def autostart_url(auto_start_token: str, *, base_url: str, simulated: bool) -> str:
    """The "open BankID on this device" link.

    For the simulator it is its test app's page (a path under the simulator's mount
    point, so it works whatever host the browser uses); for real BankID the app's URL
    scheme, with ``redirect=null`` so the app does not open a new browser tab.
    """
    if simulated:
        path = urlsplit(base_url).path
        root = path[: -len(API_PATH)] if path.endswith(API_PATH) else path.rstrip("/") + "/"
        return f"{root}app?autostarttoken={auto_start_token}"
    return f"bankid:///?autostarttoken={auto_start_token}&redirect=null"


def _ssl_context(cert: tuple[str, str] | None, verify: bool | str) -> ssl.SSLContext | bool:
    if cert is None and isinstance(verify, bool):
        return verify
    if isinstance(verify, str):
        # BankID's own CA, pinned: no public CA may vouch for appapi2.bankid.com.
        ctx = ssl.create_default_context(cafile=verify)
    elif verify:
        ctx = ssl.create_default_context()
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(certfile=cert[0], keyfile=cert[1])
    return ctx


class BankIdClient:
    """A thin, synchronous client for the RP API (one instance per process is fine)."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        cert: tuple[str, str] | None = None,
        verify: bool | str = True,
    ):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            verify=_ssl_context(cert, verify),
            timeout=TIMEOUT,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BankIdClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------------

    def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(endpoint, json=body)
        except httpx.HTTPError as exc:
            raise BankIdError("internalError", f"no answer from BankID: {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            data = response.json()
        except ValueError:
            raise BankIdError(
                "internalError", "the answer was not JSON", response.status_code
            ) from None
        if not isinstance(data, dict):
            raise BankIdError(
                "internalError", "the answer was not a JSON object", response.status_code
            )
        return data

    def _order(self, endpoint: str, body: dict[str, Any]) -> OrderResponse:
        data = self._post(endpoint, body)
        try:
            return OrderResponse(
                order_ref=data["orderRef"],
                auto_start_token=data["autoStartToken"],
                qr_start_token=data["qrStartToken"],
                qr_start_secret=data["qrStartSecret"],
            )
        except KeyError as exc:
            raise BankIdError("internalError", f"missing {exc.args[0]} in the answer") from None

    def auth(
        self,
        end_user_ip: str,
        *,
        user_visible_data: str | None = None,
        requirement: dict[str, Any] | None = None,
        return_url: str | None = None,
        data_format: str = "simpleMarkdownV1",
    ) -> OrderResponse:
        body: dict[str, Any] = {"endUserIp": end_user_ip}
        if requirement:
            body["requirement"] = requirement
        if user_visible_data is not None:
            body["userVisibleData"] = b64(user_visible_data)
            body["userVisibleDataFormat"] = data_format
        if return_url:
            body["returnUrl"] = return_url
        return self._order("auth", body)

    def sign(
        self,
        end_user_ip: str,
        user_visible_data: str,
        *,
        user_non_visible_data: str | None = None,
        data_format: str = "simpleMarkdownV1",
        requirement: dict[str, Any] | None = None,
        return_url: str | None = None,
    ) -> OrderResponse:
        body: dict[str, Any] = {
            "endUserIp": end_user_ip,
            "userVisibleData": b64(user_visible_data),
            "userVisibleDataFormat": data_format,
        }
        if user_non_visible_data is not None:
            body["userNonVisibleData"] = b64(user_non_visible_data)
        if requirement:
            body["requirement"] = requirement
        if return_url:
            body["returnUrl"] = return_url
        return self._order("sign", body)

    def collect(self, order_ref: str) -> CollectResponse:
        data = self._post("collect", {"orderRef": order_ref})
        status = data.get("status")
        if status not in (PENDING, FAILED, COMPLETE):
            raise BankIdError("internalError", f"unknown status {status!r}")
        completion = data.get("completionData") if status == COMPLETE else None
        if status == COMPLETE and not isinstance(completion, dict):
            raise BankIdError("internalError", "complete without completionData")
        return CollectResponse(
            order_ref=data.get("orderRef", order_ref),
            status=status,
            hint_code=data.get("hintCode"),
            completion_data=completion,
        )

    def cancel(self, order_ref: str) -> None:
        self._post("cancel", {"orderRef": order_ref})


def _error_from(response: httpx.Response) -> BankIdError:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("errorCode"), str):
        return BankIdError(data["errorCode"], str(data.get("details") or ""), response.status_code)
    status = response.status_code
    code = _STATUS_ERRORS.get(status, "internalError" if status >= 500 else "invalidParameters")
    return BankIdError(code, f"HTTP {status} without an error body", status)


# What an error answer without a JSON body most likely means (a proxy in between).
_STATUS_ERRORS = {
    401: "unauthorized",
    403: "unauthorized",
    404: "notFound",
    405: "methodNotAllowed",
    408: "requestTimeout",
    415: "unsupportedMediaType",
    429: "tooManyRequests",
    503: "maintenance",
}


def client_from_settings(settings, transport: httpx.BaseTransport | None = None) -> BankIdClient:
    """The client for ``shared.core.config.Settings``: the simulator, or BankID with mutual TLS."""
    cert = None
    if settings.bankid_cert:
        cert = (settings.bankid_cert, settings.bankid_key or settings.bankid_cert)
    verify: bool | str = settings.bankid_ca or True
    if transport is not None:
        cert, verify = None, True
    return BankIdClient(settings.bankid_base_url, transport=transport, cert=cert, verify=verify)
