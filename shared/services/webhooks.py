"""Webhooks to creditor systems, after the Standard Webhooks specification.

``emit`` turns an event for a creditor organisation into one ``WebhookDelivery`` per
active endpoint, in the caller's transaction, and queues its delivery through the
outbox. The worker's ``attempt`` POSTs it signed (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: one ``v1,…`` per still-valid endpoint secret), logs every attempt,
and on failure schedules the next one with exponential backoff and jitter for at least
24 hours; ``retry_due`` (every minute) queues what is due again. At most
``MAX_CONCURRENT`` deliveries per organisation are in flight at once, across processes
(a Redis semaphore; in-process without Redis). The ``webhook-id`` is the delivery's
``message_id``: stable across retries and redeliveries, so a receiver can drop
duplicates. All webhook timing is wall-clock time (``clock.wall_now``): retries and
signature timestamps must not follow the demo clock.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, defer, selectinload
from standardwebhooks.webhooks import Webhook

from shared import clock, jobs
from shared import db as dbmod
from shared.integrations import concurrency
from shared.models import (
    Case,
    DeliveryStatus,
    OutboxMessage,
    Role,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from shared.security import audit, crypto
from shared.services.errors import FieldError, NotAllowed

JOB = "worker.jobs.deliver_webhook"
MAX_CONCURRENT = 3  # deliveries in flight per creditor organisation
TIMEOUT = 10.0  # seconds, per request phase (connect, write, read)
SLOT_TTL = 60  # a slot held longer than this (a crashed worker) frees itself
SLOT_WAIT = 2.0  # seconds a delivery waits for a slot before it is put off
BUSY_DELAY = 5  # seconds: the next try of a delivery that found no free slot
# A claimed attempt is not due again for this long: a second run of the same job skips
# it, and if the worker dies mid-attempt the periodic retry picks it up afterwards.
LEASE = timedelta(seconds=90)
BACKOFF = (30, 120, 600, 1800, 3600, 7200, 14400, 28800)  # seconds; the last repeats
JITTER = 0.1  # ± share of each backoff delay, so retries of many deliveries spread out
GIVE_UP_AFTER = timedelta(hours=24)  # retried until an attempt this long after the first
OLD_SECRET_VALID = timedelta(hours=24)  # a rotated-out secret still signs this long
MAX_ENDPOINTS = 5  # active endpoints per organisation
USER_AGENT = "Skuldkoll-Webhooks/1.0"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


# -- secrets ----------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_list(endpoint: WebhookEndpoint) -> list[dict[str, Any]]:
    return json.loads(endpoint.secrets)


def _valid(entries: list[dict[str, Any]], at: datetime) -> list[str]:
    valid = [s for s in entries
             if s["expires_at"] is None or datetime.fromisoformat(s["expires_at"]) > at]
    return [s["secret"] for s in sorted(valid, key=lambda s: s["created_at"], reverse=True)]


def signing_secrets(endpoint: WebhookEndpoint, at: datetime | None = None) -> list[str]:
    """The secrets that sign a message sent at ``at``: every one not yet expired, newest
    first."""
    return _valid(_secret_list(endpoint), at or clock.wall_now())


def previous_secret_valid_until(endpoint: WebhookEndpoint) -> datetime | None:
    """Until when a rotated-out secret still signs (None when none does)."""
    now = clock.wall_now()
    ends = [datetime.fromisoformat(s["expires_at"]) for s in _secret_list(endpoint)
            if s["expires_at"] is not None]
    return max((end for end in ends if end > now), default=None)


def sign(endpoint_secrets: list[str], message_id: str, at: datetime, body: str) -> str:
    """The ``webhook-signature`` header: ``v1,<base64>`` per secret, space separated."""
    return " ".join(Webhook(s).sign(message_id, at, body) for s in endpoint_secrets)


# -- endpoints (creditor admins) ----------------------------------------------------------


def _admin_actor(admin: User) -> audit.Actor:
    if admin.role != Role.CREDITOR_ADMIN:
        raise NotAllowed("Bara borgenärens administratör kan hantera webhook-adresser.")
    return audit.Actor("user", str(admin.id), admin.organisation_id)


def _allow_local_http() -> bool:
    settings = dbmod.get().settings
    return settings.demo or settings.testing


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
        raise FieldError("url", "Ange en fullständig adress som börjar med https://, "
                                "till exempel https://system.example.se/webhooks.")
    if parsed.userinfo:
        raise FieldError("url", "Adressen får inte innehålla användarnamn eller lösenord; "
                                "meddelandena är signerade i stället.")
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
            raise FieldError("url", "Adressen måste nås från internet; en lokal eller "
                                    "privat adress går inte.")
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
    return any(not ipaddress.ip_address(info[4][0].split("%")[0]).is_global
               for info in infos)


def add_endpoint(session: Session, admin: User, url: str | None,
                 description: str | None = None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for the admin's organisation. Returns it and its signing secret,
    which the portal shows once."""
    actor = _admin_actor(admin)
    url = check_url(url, allow_local_http=_allow_local_http())
    description = (description or "").strip() or None
    if description and len(description) > 200:
        raise FieldError("description", "Högst 200 tecken.")
    active = endpoints_of(session, admin.organisation_id, active_only=True)
    if any(e.url == url for e in active):
        raise FieldError("url", "Adressen finns redan bland organisationens adresser.")
    if len(active) >= MAX_ENDPOINTS:
        raise FieldError("url", "Högst %(n)s aktiva adresser; stäng av en först.",
                         n=MAX_ENDPOINTS)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        organisation_id=admin.organisation_id, url=url, description=description, active=True,
        secrets=json.dumps([{"secret": secret, "created_at": clock.wall_now().isoformat(),
                             "expires_at": None}]))
    session.add(endpoint)
    session.flush()
    audit.record(session, actor, "webhook_endpoint.created", subject_type="webhook_endpoint",
                 subject_id=endpoint.id, details={"url": url})
    return endpoint, secret


def rotate_secret(session: Session, admin: User, endpoint: WebhookEndpoint) -> str:
    """A new signing secret (returned, to be shown once). The current one keeps signing
    for ``OLD_SECRET_VALID`` so the receiver can switch without losing messages; ones
    already expired are dropped."""
    actor = _admin_actor(admin)
    if endpoint.organisation_id != admin.organisation_id:
        raise NotAllowed("Adressen hör till en annan organisation.")
    if not endpoint.active:
        raise NotAllowed("Adressen är avstängd.")
    now = clock.wall_now()
    kept = []
    for entry in _secret_list(endpoint):
        if entry["expires_at"] is None:
            entry["expires_at"] = (now + OLD_SECRET_VALID).isoformat()
        if datetime.fromisoformat(entry["expires_at"]) > now:
            kept.append(entry)
    secret = new_secret()
    kept.append({"secret": secret, "created_at": now.isoformat(), "expires_at": None})
    endpoint.secrets = json.dumps(kept)
    audit.record(session, actor, "webhook_endpoint.secret_rotated",
                 subject_type="webhook_endpoint", subject_id=endpoint.id,
                 details={"old_valid_until": (now + OLD_SECRET_VALID).isoformat()})
    return secret


def disable_endpoint(session: Session, admin: User, endpoint: WebhookEndpoint) -> int:
    """Stop sending to the endpoint; its pending deliveries fail (they can be
    redelivered to no one, so the log says so). Returns how many were pending."""
    actor = _admin_actor(admin)
    if endpoint.organisation_id != admin.organisation_id:
        raise NotAllowed("Adressen hör till en annan organisation.")
    if not endpoint.active:
        raise NotAllowed("Adressen är redan avstängd.")
    endpoint.active = False
    endpoint.disabled_at = clock.now()
    dropped = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id,
               WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, failed_at=clock.wall_now(), next_attempt_at=None)
        .execution_options(synchronize_session="fetch")).rowcount
    audit.record(session, actor, "webhook_endpoint.disabled", subject_type="webhook_endpoint",
                 subject_id=endpoint.id, details={"url": endpoint.url, "pending_failed": dropped})
    return dropped


def endpoints_of(session: Session, organisation_id: uuid.UUID, *, active_only: bool = False
                 ) -> list[WebhookEndpoint]:
    """The organisation's endpoints, active ones first, newest first."""
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == organisation_id)
    if active_only:
        stmt = stmt.where(WebhookEndpoint.active.is_(True))
    return list(session.scalars(stmt.order_by(WebhookEndpoint.active.desc(),
                                              WebhookEndpoint.created_at.desc())))


def endpoint_of(session: Session, organisation_id: uuid.UUID, endpoint_id: uuid.UUID
                ) -> WebhookEndpoint | None:
    return session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.organisation_id == organisation_id))


def has_endpoint(session: Session, organisation_id: uuid.UUID) -> bool:
    """Whether the organisation's system receives webhooks (an active endpoint)."""
    # Asked on behalf of whoever causes an event, so not limited to their organisation.
    return session.scalar(
        select(func.count()).select_from(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == organisation_id,
               WebhookEndpoint.active.is_(True))
        .execution_options(all_tenants=True)) > 0


# -- events -------------------------------------------------------------------------------


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def envelope(event_type: str, data: dict[str, Any], at: datetime | None = None) -> str:
    """The body: ``{"type", "timestamp" (ISO 8601 UTC), "data"}`` as compact JSON."""
    at = at or clock.now()
    return json.dumps({"type": event_type,
                       "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "data": data}, separators=(",", ":"), ensure_ascii=False)


def emit(session: Session, organisation_id: uuid.UUID, event_type: str, data: dict[str, Any],
         *, case: Case | None = None) -> list[WebhookDelivery]:
    """Queue the event to every active endpoint of the organisation, in the caller's
    transaction: one delivery each (the payload encrypted under the case's data key when
    it is about a case, so a purge shreds it). [] when the organisation has none.
    Run it unscoped (a job) or in the organisation's own scope."""
    # The event is for organisation_id, whoever's action causes it.
    endpoints = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == organisation_id,
               WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.created_at)
        .execution_options(all_tenants=True)).all()
    if not endpoints:
        return []
    body = envelope(event_type, data)
    now = clock.wall_now()
    deliveries = [WebhookDelivery(
        organisation_id=organisation_id, endpoint_id=endpoint.id,
        message_id=new_message_id(), event_type=event_type,
        case_id=case.id if case is not None else None, payload=body,
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        for endpoint in endpoints]
    with crypto.data_key_scope(case.data_key_id if case is not None else None):
        session.add_all(deliveries)
        session.flush()  # encrypts now, under the scope's key
    for delivery in deliveries:
        jobs.enqueue(session, JOB, delivery_id=str(delivery.id))
    return deliveries


def forget_case(session: Session, case_id: uuid.UUID) -> int:
    """Delete the deliveries about a case and their attempt logs (when the case is
    purged: their payloads are under its data key, which is destroyed)."""
    ids = select(WebhookDelivery.id).where(WebhookDelivery.case_id == case_id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids))
                    .execution_options(synchronize_session=False, all_tenants=True))
    return session.execute(delete(WebhookDelivery).where(WebhookDelivery.case_id == case_id)
                           .execution_options(synchronize_session="fetch",
                                              all_tenants=True)).rowcount


# -- delivery (the worker) ----------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _jittered(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311


def backoff(failures: int) -> timedelta:
    """The wait after the ``failures``-th failed attempt in a row (1 = the first)."""
    return _jittered(BACKOFF[min(failures, len(BACKOFF)) - 1])


def _slots(organisation_id: uuid.UUID):
    return concurrency.semaphore(f"webhooks:{organisation_id}", limit=MAX_CONCURRENT,
                                 ttl=SLOT_TTL, redis_url=dbmod.get().settings.redis_url)


def post(url: str, endpoint_secrets: list[str], message_id: str, body: str,
         http: httpx.Client | None = None) -> Result:
    """One signed POST. Never raises for the receiver's failures: they are the result.
    Redirects are not followed (a 3xx is a failure), the response body is not read."""
    at = clock.wall_now()
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               "webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": sign(endpoint_secrets, message_id, at, body)}
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


def _tries_in_window(session: Session, delivery: WebhookDelivery) -> int:
    """How many attempts the current retry schedule has had."""
    if delivery.window_started_at is None:
        return 0
    return session.scalar(select(func.count()).select_from(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery.id,
        WebhookAttempt.attempted_at >= delivery.window_started_at)) or 0


def attempt(session: Session, delivery_id: uuid.UUID, *, http: httpx.Client | None = None
            ) -> str:
    """One delivery attempt, if it is due. Returns "succeeded", "retry" (failed, next
    attempt scheduled), "failed" (gave up), "busy" (no free slot: put off a few seconds,
    not counted) or "skipped" (not due: done, failed, or claimed by another run).

    The claim is one conditional UPDATE (it locks the row): of two runs of the same due
    attempt only one gets it. The claim is committed before the POST, so no lock or
    transaction is held while the receiver answers; the outcome is written after."""
    now = clock.wall_now()
    claimed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id,
               WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return "skipped"
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, populate_existing=True)
    if not endpoint.active:
        _give_up(delivery, now)
        return "failed"
    body = delivery.payload
    # The state says which attempt this is, whatever the job was queued with: a
    # redelivery that found no free slot is still the start of a new schedule.
    window_start, tries = delivery.window_started_at, _tries_in_window(session, delivery)
    if window_start is None:
        trigger = "first" if delivery.attempts == 0 else "redeliver"
    else:
        trigger = "retry"
    url, entries, message_id = endpoint.url, _secret_list(endpoint), delivery.message_id
    session.commit()
    with _slots(delivery.organisation_id).slot(wait=SLOT_WAIT) as got:
        if not got:
            delivery.next_attempt_at = clock.wall_now() + _jittered(BUSY_DELAY)
            return "busy"
        attempted_at = clock.wall_now()
        if not _allow_local_http() and resolves_inside(url):
            result = Result(None, 0, "Adressen leder till ett lokalt eller privat nät; "
                                     "inget skickades.")
        else:
            result = post(url, _valid(entries, attempted_at), message_id, body, http)
    done = clock.wall_now()
    session.add(WebhookAttempt(
        organisation_id=delivery.organisation_id, delivery_id=delivery.id,
        attempted_at=attempted_at, trigger=trigger, status_code=result.status_code,
        latency_ms=result.latency_ms, error=result.error))
    delivery.attempts += 1
    delivery.window_started_at = window_start or attempted_at
    delivery.last_attempt_at = attempted_at
    delivery.last_status_code = result.status_code
    if result.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.succeeded_at = done
        delivery.next_attempt_at = None
        return "succeeded"
    if done - (window_start or attempted_at) >= GIVE_UP_AFTER:
        _give_up(delivery, done)
        return "failed"
    delivery.next_attempt_at = done + backoff(tries + 1)
    return "retry"


def _give_up(delivery: WebhookDelivery, at: datetime) -> None:
    delivery.status = DeliveryStatus.FAILED
    delivery.failed_at = at
    delivery.next_attempt_at = None


def retry_due(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Queue an attempt of every pending delivery that is due (the minute job). One
    already queued and not yet run is left alone, so a slow worker gets no pile-up."""
    now = now or clock.wall_now()
    due = list(session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)))
    if not due:
        return 0
    waiting = {p.get("delivery_id") for p in session.scalars(
        select(OutboxMessage.payload).where(OutboxMessage.job == JOB,
                                            OutboxMessage.done_at.is_(None),
                                            OutboxMessage.created_at > now - LEASE))}
    queued = 0
    for delivery_id in due:
        if str(delivery_id) not in waiting:
            jobs.enqueue(session, JOB, delivery_id=str(delivery_id))
            queued += 1
    return queued


def redeliver(session: Session, actor: audit.Actor, delivery: WebhookDelivery) -> None:
    """Send the delivery again (whatever its status), with the same ``webhook-id``: the
    attempt is logged as "redeliver" and starts a new retry schedule."""
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise NotAllowed("Adressen är avstängd; händelsen kan inte skickas dit igen.")
    session.refresh(delivery, with_for_update=True)
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = clock.wall_now()
    delivery.window_started_at = None  # a new retry schedule from its next attempt
    delivery.succeeded_at = delivery.failed_at = None
    jobs.enqueue(session, JOB, delivery_id=str(delivery.id))
    audit.record(session, actor, "webhook.redelivered", subject_type="webhook_delivery",
                 subject_id=delivery.id, details={"message_id": delivery.message_id,
                                                  "event_type": delivery.event_type})


# -- the log --------------------------------------------------------------------------------


def deliveries_of(session: Session, organisation_id: uuid.UUID, *,
                  status: DeliveryStatus | None = None,
                  before: tuple[datetime, uuid.UUID] | None = None,
                  limit: int = 50) -> list[WebhookDelivery]:
    """The organisation's deliveries, newest first; ``before`` = (created_at, id) of the
    last one of the previous page. The payload is not loaded (the log shows no personal
    data)."""
    stmt = (select(WebhookDelivery)
            .where(WebhookDelivery.organisation_id == organisation_id)
            .options(defer(WebhookDelivery.payload), selectinload(WebhookDelivery.endpoint)))
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    stmt = dbmod.newest_first(stmt, WebhookDelivery.created_at, WebhookDelivery.id,
                              before=before, limit=limit)
    return list(session.scalars(stmt))


def delivery_of(session: Session, organisation_id: uuid.UUID, delivery_id: uuid.UUID
                ) -> WebhookDelivery | None:
    """One delivery of the organisation with its attempt log (payload not loaded)."""
    return session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id,
               WebhookDelivery.organisation_id == organisation_id)
        .options(defer(WebhookDelivery.payload), selectinload(WebhookDelivery.attempt_log),
                 selectinload(WebhookDelivery.endpoint)))
