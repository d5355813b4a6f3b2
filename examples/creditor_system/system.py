"""What the creditor's system does with Skuldkoll's webhooks.

``receive`` verifies the Standard Webhooks signature (with any of the configured
secrets: during a rotation Skuldkoll signs with the old and the new one), drops a
``webhook-id`` it has seen (a retry or redelivery of something handled) and answers at
once; an ``inquiry.created`` is then handled in a background thread: the customer is
looked up in the ledger and the inquiry answered through the API, yes with the open
debts or no. ``fullmakt.*`` events are recorded against the customer's fullmakt, in
the order of their ``sequence`` (numbered per fullmakt by Skuldkoll): one that is not
newer than the last applied to its fullmakt arrived late and is ignored, so a revoked
fullmakt never shows as active again.
"""

from __future__ import annotations

import binascii
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, replace
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from examples.creditor_system import api_client
from examples.creditor_system import config as configmod
from examples.creditor_system.ledger import Ledger, digits

log = logging.getLogger("creditor_system")
STATUS_TEXT = {
    "fullmakt.signed": "signerad",
    "fullmakt.revoked": "återkallad av fullmaktsgivaren",
    "fullmakt.validity_changed": "ändrad giltighetstid",
    "fullmakt.expiring": "går snart ut",
    "fullmakt.expired": "har gått ut",
    "fullmakt.deleted": "raderad",
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


class Rejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class CreditorSystem:
    def __init__(
        self,
        config: configmod.Config,
        *,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = 1,
    ):
        self._config = config
        self._mtime = _mtime(config)
        self._config_lock = threading.Lock()
        self.ledger = Ledger(config.ledger)
        self.http = http
        self.sleep = sleep
        # One inquiry at a time by default: a bank answers a batch in turn, and the API
        # is not asked to write two answers at once.
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="creditor-system"
        )
        self._pending: set[Future] = set()
        self._pending_lock = threading.Lock()

    @property
    def config(self) -> configmod.Config:
        """The configuration, read again when its file has changed (a rotated secret or
        a new API key written by ``skuldkoll demo-data``)."""
        with self._config_lock:
            mtime = _mtime(self._config)
            if mtime is not None and mtime != self._mtime:
                try:
                    fresh = configmod.load(self._config.source)
                except configmod.ConfigError:
                    log.exception("config file unreadable; keeping the previous one")
                else:
                    # The ledger stays where it was opened; tests' fast retries stay.
                    self._config = replace(
                        fresh, ledger=self._config.ledger, retry_delays=self._config.retry_delays
                    )
                self._mtime = mtime
            return self._config

    # -- receiving ----------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The event, if one of the secrets signed it within the time tolerance (5
        minutes: an older message replayed is refused). ``Rejected`` otherwise."""
        headers = {k.lower(): v for k, v in headers.items()}
        problem = "no secret configured"
        for secret in self.config.webhook_secrets:
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
            except WebhookVerificationError as exc:
                problem = str(exc)
                if problem in ("Missing required headers", "Invalid Signature Headers"):
                    raise Rejected(400, problem) from None
                continue
            except (ValueError, binascii.Error):  # a malformed signature list
                raise Rejected(400, "Invalid Signature Headers") from None
            break
        else:
            raise Rejected(401, problem)
        try:
            event = json.loads(body)
        except ValueError:
            raise Rejected(400, "body is not JSON") from None
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("type"), str)
            or not isinstance(event.get("data"), dict)
        ):
            raise Rejected(400, 'expected {"type", "timestamp", "data"}')
        return event

    def receive(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        try:
            event = self.verify(body, headers)
        except Rejected as exc:
            log.warning("webhook refused (%s): %s", exc.status, exc)
            return Reply(exc.status, {"error": str(exc)})
        webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        if not self.ledger.accept(webhook_id, _summary(event)):
            log.info("webhook %s already handled: not acted on again", webhook_id)
            return Reply(200, {"status": "duplicate"})
        if event["type"] == "inquiry.created":
            self._submit(self.handle_inquiry, webhook_id, event["data"])
            return Reply(202, {"status": "accepted"})
        try:
            self.handle_fullmakt_event(webhook_id, event["type"], event["data"])
        except Exception as exc:  # noqa: BLE001 - a 5xx: Skuldkoll retries, and we act then
            self._failed(webhook_id, exc)
            return Reply(500, {"error": "not recorded"})
        return Reply(200, {"status": "recorded"})

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        future = self._executor.submit(self._guarded, fn, *args)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def _guarded(self, fn: Callable[..., None], webhook_id: str, *args: Any) -> None:
        try:
            fn(webhook_id, *args)
        except Exception as exc:  # noqa: BLE001 - logged; a redelivery may try again
            self._failed(webhook_id, exc)

    def _failed(self, webhook_id: str, exc: Exception) -> None:
        log.error("handling %s failed", webhook_id, exc_info=exc)
        self.ledger.outcome(webhook_id, f"Fel: {type(exc).__name__}: {exc}")
        self.ledger.forget(webhook_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no inquiry is being handled (True) or ``timeout`` seconds pass."""
        with self._pending_lock:
            pending = set(self._pending)
        done, not_done = wait_for(pending, timeout=timeout)
        return not not_done

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    # -- an inquiry -----------------------------------------------------------------------

    def decide(self, data: dict[str, Any]) -> dict[str, Any]:
        """The answer body: yes with the customer's open debts, else no."""
        debts = self.ledger.open_debts(data.get("personal_number"))
        return {"answer": "yes", "debts": debts} if debts else {"answer": "no"}

    def handle_inquiry(self, webhook_id: str, data: dict[str, Any]) -> None:
        body = self.decide(data)
        fullmakt = data.get("fullmakt") or {}
        if body["answer"] == "yes" and fullmakt.get("id"):
            # Only the fullmakt of a customer with debts is kept; of anyone else nothing.
            agent = data.get("agent") or {}
            self.ledger.note_fullmakt(
                fullmakt["id"],
                personal_number=digits(data.get("personal_number")),
                code=fullmakt.get("code"),
                valid_from=fullmakt.get("valid_from"),
                valid_until=fullmakt.get("valid_until"),
                # An inquiry may arrive after a later event of the fullmakt (a retry):
                # the status is then that event's.
                status="active" if self.ledger.last_sequence(fullmakt["id"]) is None else None,
                agent=" – ".join(
                    x for x in (agent.get("organisation"), agent.get("counsellor")) if x
                ),
            )
        try:
            response = api_client.answer_inquiry(
                self.config,
                data["inquiry_id"],
                body,
                idempotency_key=webhook_id,
                http=self.http,
                sleep=self.sleep,
            )
        except api_client.ApiUnavailable as exc:
            self.ledger.outcome(
                webhook_id, f"Svaret kom inte fram efter {exc.attempts} försök ({exc})."
            )
            self.ledger.forget(webhook_id)  # a redelivery from Skuldkoll tries again
            return
        problem = _problem(response)
        if response.is_success:
            text = (
                f"Svarade ja med {len(body['debts'])} skulder."
                if body["answer"] == "yes"
                else "Svarade nej (inga skulder hos oss)."
            )
        elif response.status_code == 409 and problem.get("code") == "already_answered":
            text = "Redan besvarad."
        else:
            text = (
                f"API:t avvisade svaret: HTTP {response.status_code} "
                f"{problem.get('code') or ''} {problem.get('detail') or ''}"
            ).strip()
            self.ledger.forget(webhook_id)
        log.info("inquiry %s: %s", data.get("inquiry_id"), text)
        self.ledger.outcome(webhook_id, text)

    # -- fullmakt events ------------------------------------------------------------------

    def handle_fullmakt_event(self, webhook_id: str, event_type: str, data: dict[str, Any]) -> None:
        if event_type != "fullmakt.sent" and event_type not in STATUS_TEXT:
            self.ledger.outcome(webhook_id, "Okänd händelsetyp: loggad.")
            return
        fullmakt_id = str(data.get("id" if event_type == "fullmakt.sent" else "fullmakt_id") or "")
        if not fullmakt_id:
            self.ledger.outcome(webhook_id, "Fullmakten är okänd här: loggad.")
            return
        sequence = data.get("sequence")
        with self.ledger.in_order(fullmakt_id, sequence) as newer:
            if not newer:
                last = self.ledger.last_sequence(fullmakt_id)
                self.ledger.outcome(
                    webhook_id,
                    f"Äldre händelse (nr {sequence}, nr {last} redan tillämpad): ignorerad.",
                )
                return
            self._apply_fullmakt_event(webhook_id, event_type, fullmakt_id, data)

    def _apply_fullmakt_event(
        self, webhook_id: str, event_type: str, fullmakt_id: str, data: dict[str, Any]
    ) -> None:
        if event_type == "fullmakt.sent":
            principal, agent = data.get("principal") or {}, data.get("agent") or {}
            self.ledger.note_fullmakt(
                fullmakt_id,
                personal_number=digits(principal.get("personal_number")),
                code=data.get("code"),
                status=data.get("status"),
                signed_at=data.get("signed_at"),
                valid_from=data.get("valid_from"),
                valid_until=data.get("valid_until"),
                agent=" – ".join(
                    x for x in (agent.get("organisation"), agent.get("counsellor")) if x
                ),
            )
            self.ledger.outcome(
                webhook_id, f"Fullmakten {data.get('code') or fullmakt_id} sparad hos kunden."
            )
            return
        # Its number is kept even so: an older fullmakt.sent arriving later is ignored.
        if self.ledger.fullmakt(fullmakt_id) is None:
            self.ledger.outcome(webhook_id, "Fullmakten är okänd här: loggad.")
            return
        self.ledger.note_fullmakt(
            fullmakt_id,
            status=data.get("status"),
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
            reason=data.get("reason"),
            last_event=event_type,
        )
        self.ledger.outcome(
            webhook_id, f"Fullmakten {data.get('code') or fullmakt_id}: {STATUS_TEXT[event_type]}."
        )


def _mtime(config: configmod.Config) -> float | None:
    try:
        return config.source.stat().st_mtime if config.source else None
    except OSError:
        return None


def _summary(event: dict[str, Any]) -> dict[str, Any]:
    """What the event log shows of a message (no personal data of non-customers)."""
    data = event["data"]
    fullmakt_id = data.get("fullmakt_id") or (data.get("fullmakt") or {}).get("id")
    if event["type"] == "fullmakt.sent":
        fullmakt_id = data.get("id")
    return {
        "type": event["type"],
        "timestamp": event.get("timestamp"),
        "inquiry_id": data.get("inquiry_id"),
        "fullmakt_id": fullmakt_id,
        "sequence": data.get("sequence"),
    }


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
