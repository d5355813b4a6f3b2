"""The simulator's orders: kept in memory behind one lock, with BankID's life cycle.

pending/outstandingTransaction -> (tester opens the order in the test app) started ->
(the confirm screen shows) userSign -> complete, or failed with userCancel (the tester
cancels), expiredTransaction (not finished within the order's lifetime) or cancelled (a
new order for the same personal number arrived). Completed orders can be collected for
3 minutes and failed ones for 5, then they are gone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

COMPLETED_KEPT = timedelta(minutes=3)
FAILED_KEPT = timedelta(minutes=5)
QR_MAX_AGE_SECONDS = 30


@dataclass
class Order:
    kind: str  # auth | sign
    end_user_ip: str
    requirement: dict[str, Any]
    user_visible_data: str | None  # base64, exactly as the RP sent it
    user_non_visible_data: str | None
    data_format: str | None
    return_url: str | None
    return_risk: bool
    created_at: datetime
    order_ref: str = field(default_factory=lambda: str(uuid.uuid4()))
    auto_start_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    qr_start_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    qr_start_secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "pending"
    hint_code: str | None = "outstandingTransaction"
    # The test app's handle on an opened order (a capability URL, never the orderRef).
    app_session: str | None = None
    completion_data: dict[str, Any] | None = None
    finished_at: datetime | None = None

    @property
    def personal_number(self) -> str | None:
        return self.requirement.get("personalNumber")

    @property
    def visible_text(self) -> str | None:
        if self.user_visible_data is None:
            return None
        return base64.b64decode(self.user_visible_data).decode("utf-8")

    def fail(self, hint: str, now: datetime) -> None:
        self.status, self.hint_code, self.finished_at = "failed", hint, now


class QrRejected(ValueError):
    """The pasted QR payload is malformed, unknown, forged or too old (Swedish message)."""


def decode_b64_text(value: Any) -> str | None:
    """The UTF-8 text behind a base64 string, or None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


class OrderStore:
    def __init__(self, *, ttl: timedelta, clock: Callable[[], datetime]):
        self.ttl = ttl
        self.clock = clock
        self._orders: dict[str, Order] = {}
        self._lock = threading.Lock()

    # -- housekeeping (under the lock) --------------------------------------------------

    def _sweep(self, now: datetime) -> None:
        for ref, order in list(self._orders.items()):
            if order.status == "pending" and now - order.created_at >= self.ttl:
                order.fail("expiredTransaction", order.created_at + self.ttl)
            if order.finished_at is not None:
                kept = COMPLETED_KEPT if order.status == "complete" else FAILED_KEPT
                if now - order.finished_at >= kept:
                    del self._orders[ref]

    # -- the RP API -----------------------------------------------------------------------

    def create(self, **fields: Any) -> Order | None:
        """A new order, or None (``alreadyInProgress``) when a pending order exists for
        the same personal number; that order is then cancelled, as BankID does."""
        now = self.clock()
        with self._lock:
            self._sweep(now)
            pnr = fields["requirement"].get("personalNumber")
            if pnr:
                clash = [
                    o
                    for o in self._orders.values()
                    if o.status == "pending" and o.personal_number == pnr
                ]
                if clash:
                    for other in clash:
                        other.fail("cancelled", now)
                    return None
            order = Order(created_at=now, **fields)
            self._orders[order.order_ref] = order
            return order

    def get(self, order_ref: str) -> Order | None:
        with self._lock:
            self._sweep(self.clock())
            return self._orders.get(order_ref)

    def remove(self, order_ref: str) -> bool:
        with self._lock:
            self._sweep(self.clock())
            return self._orders.pop(order_ref, None) is not None

    # -- the test app ---------------------------------------------------------------------

    def pending(self) -> list[Order]:
        with self._lock:
            self._sweep(self.clock())
            orders = [o for o in self._orders.values() if o.status == "pending"]
        return sorted(orders, key=lambda o: o.created_at, reverse=True)

    def _open(self, order: Order) -> str:
        if order.app_session is None:
            order.app_session = secrets.token_urlsafe(24)
        if order.hint_code == "outstandingTransaction":
            order.hint_code = "started"
        return order.app_session

    def open_by_autostart(self, token: str) -> str | None:
        with self._lock:
            self._sweep(self.clock())
            for order in self._orders.values():
                if order.status == "pending" and hmac.compare_digest(order.auto_start_token, token):
                    return self._open(order)
        return None

    def open_by_qr(self, payload: str) -> str:
        parts = payload.strip().split(".")
        if len(parts) != 4 or parts[0] != "bankid" or not parts[2].isdigit():
            raise QrRejected("Det här är ingen BankID-QR-kod.")
        _, token, t, code = parts
        now = self.clock()
        with self._lock:
            self._sweep(now)
            order = next(
                (
                    o
                    for o in self._orders.values()
                    if o.status == "pending" and o.qr_start_token == token
                ),
                None,
            )
            if order is None:
                raise QrRejected("QR-koden hör inte till någon pågående beställning.")
            expected = hmac.new(
                order.qr_start_secret.encode(), t.encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(expected, code.lower()):
                raise QrRejected("QR-koden är ogiltig (kontrollsumman stämmer inte).")
            elapsed = (now - order.created_at).total_seconds()
            # A code from the future cannot exist; one older than 30 s is stale.
            if int(t) > elapsed + 1 or elapsed - int(t) > QR_MAX_AGE_SECONDS:
                raise QrRejected("QR-koden är för gammal. Läs av den nya koden på skärmen.")
            return self._open(order)

    def by_session(self, app_session: str) -> Order | None:
        with self._lock:
            self._sweep(self.clock())
            for order in self._orders.values():
                if order.app_session and hmac.compare_digest(order.app_session, app_session):
                    return order
        return None

    def show_confirm(self, order: Order) -> None:
        with self._lock:
            if order.status == "pending":
                order.hint_code = "userSign"

    def user_cancel(self, order: Order) -> None:
        with self._lock:
            if order.status == "pending":
                order.fail("userCancel", self.clock())

    def complete(self, order: Order, completion_data: dict[str, Any]) -> bool:
        now = self.clock()
        with self._lock:
            self._sweep(now)
            if order.status != "pending" or self._orders.get(order.order_ref) is not order:
                return False
            order.status, order.hint_code = "complete", None
            order.completion_data, order.finished_at = completion_data, now
            return True
