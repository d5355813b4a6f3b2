"""Webhooks to creditor systems, after the Standard Webhooks specification.

``emit`` turns an event for a creditor organisation into one ``WebhookDelivery`` per
active endpoint, in the caller's transaction, and queues its delivery through the
outbox. The worker delivers it in three steps (``worker.jobs.deliver_webhook``), so no
transaction is open while the receiver answers: ``claim_attempt`` takes a lease on the
due attempt (committed on its own), ``send`` POSTs it signed (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``: one ``v1,…`` per still-valid endpoint
secret; HTTP, DNS and signing are ``shared.integrations.webhook_http``'s), and
``record_attempt`` logs it and on failure schedules the next one with exponential
backoff and jitter for at least 24 hours; ``retry_due`` (every minute) queues what is
due again, also an attempt whose worker died (its lease has ended). At most
``MAX_CONCURRENT`` deliveries per organisation are in flight at once, across processes
(a Redis semaphore; in-process without Redis). The ``webhook-id`` is the delivery's
``message_id``: stable across retries and redeliveries, so a receiver can drop
duplicates. The events of one fullmakt go to an endpoint in the order of their
``sequence`` (``in_turn``): a delivery is held while an earlier one of the same fullmakt
to the same endpoint is pending, and goes when that one succeeds or is given up; and
while the fan-out of an earlier event of the fullmakt has not run (its deliveries may
not exist yet), until it is done or given up. All
webhook timing is wall-clock time (``clock.wall_now``): retries and
signature timestamps must not follow the demo clock.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, literal_column, select, update
from sqlalchemy.orm import Session, aliased, defer, selectinload

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.core.errors import NotAllowed
from shared.core.lists import capped_counts
from shared.core.outbox import OutboxMessage
from shared.counselling.models import Case, UnsentFullmaktEvent
from shared.creditor_link.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from shared.creditor_link.webhook_endpoints import allow_local_http, secret_entries, valid_secrets
from shared.integrations import concurrency
from shared.integrations.webhook_http import (
    AddressRefused,
    HttpClient,
    Result,
    pinned_address,
    post,
)
from shared.security import audit, crypto

MAX_CONCURRENT = 3  # deliveries in flight per creditor organisation


SLOT_TTL = 60  # a slot held longer than this (a crashed worker) frees itself


SLOT_WAIT = 2.0  # seconds a delivery waits for a slot before it is put off


BUSY_DELAY = 5  # seconds: the next try of a delivery that found no free slot


# A claimed attempt is not due again for this long: a second run of the same job skips
# it, and if the worker dies mid-attempt the periodic retry (every 15 s) picks it up
# afterwards, within a minute. Longer than an attempt can take (a slot: SLOT_WAIT, the
# POST: connect, write and read, TIMEOUT each); one that overruns it is "superseded".
LEASE = timedelta(seconds=40)


BACKOFF = (30, 120, 600, 1800, 3600, 7200, 14400, 28800)  # seconds; the last repeats


JITTER = 0.1  # ± share of each backoff delay, so retries of many deliveries spread out


GIVE_UP_AFTER = timedelta(hours=24)  # retried until an attempt this long after the first


# An event whose fan-out has not run holds the fullmakt's later events back at most this
# long: longer than the outbox retries a job (``shared.core.jobs.RETRY_INTERVALS``, 22.4 h)
# and gives it up (which ends the hold at once), so only a give-up that could not be
# recorded (the database was away) waits for it.
HOLD_AT_MOST = timedelta(hours=25)


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def envelope(event_type: str, data: dict[str, Any], at: datetime | None = None) -> str:
    """The body: ``{"type", "timestamp" (ISO 8601 UTC), "data"}`` as compact JSON."""
    at = at or clock.now()
    return json.dumps(
        {
            "type": event_type,
            "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def emit(
    session: Session,
    organisation_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    *,
    case: Case | None = None,
    fullmakt_id: uuid.UUID | None = None,
    sequence: int | None = None,
) -> list[WebhookDelivery]:
    """Queue the event to every active endpoint of the organisation, in the caller's
    transaction: one delivery each (the payload encrypted under the case's data key when
    it is about a case, so a purge shreds it). [] when the organisation has none. An
    event about a fullmakt gives its id and ``sequence`` (also in ``data``): its
    deliveries wait for the earlier ones of the fullmakt (``in_turn``).
    Run it unscoped (a job) or in the organisation's own scope."""
    # The event is for organisation_id, whoever's action causes it.
    endpoints = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.created_at)
    ).all()
    if not endpoints:
        return []
    body = envelope(event_type, data)
    now = clock.wall_now()
    deliveries = [
        WebhookDelivery(
            organisation_id=organisation_id,
            endpoint_id=endpoint.id,
            message_id=new_message_id(),
            event_type=event_type,
            case_id=case.id if case is not None else None,
            fullmakt_id=fullmakt_id if sequence is not None else None,
            sequence=sequence,
            payload=body,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    ]
    with crypto.data_key_scope(case.data_key_id if case is not None else None):
        session.add_all(deliveries)
        session.flush()  # encrypts now, under the scope's key
    for delivery in deliveries:
        jobs.enqueue(session, jobs.DELIVER_WEBHOOK, delivery_id=str(delivery.id))
    return deliveries


def in_turn(now: datetime | None = None) -> ColumnElement[bool]:
    """A delivery's turn has come: no delivery of an earlier event of the same fullmakt
    to the same endpoint is still pending (one that succeeded or was given up holds
    nothing back), and the fan-out of every earlier event of the fullmakt has run (or
    was given up, or is older than ``HOLD_AT_MOST``), so no earlier delivery can still
    appear. Always true for an event that is not a fullmakt's. One probe of the partial
    index ``ix_webhook_deliveries_pending_in_order`` and one of the primary key of
    ``unsent_fullmakt_events`` per delivery."""
    now = now or clock.wall_now()
    earlier = aliased(WebhookDelivery, name="earlier")
    unsent = aliased(UnsentFullmaktEvent, name="unsent")
    return ~exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.fullmakt_id == WebhookDelivery.fullmakt_id,
        earlier.sequence < WebhookDelivery.sequence,
        # A literal, not a parameter: the partial index's predicate must be provable
        # from the statement, also in a cached generic plan.
        earlier.status == literal_column(f"'{DeliveryStatus.PENDING.value}'"),
    ) & ~exists().where(
        unsent.fullmakt_id == WebhookDelivery.fullmakt_id,
        unsent.sequence < WebhookDelivery.sequence,
        unsent.created_at > now - HOLD_AT_MOST,
    )


def release_held(session: Session, fullmakt_id: uuid.UUID, sequence: int) -> None:
    """The fan-out of the fullmakt's event ``sequence`` is done (or given up): queue, per
    endpoint, the fullmakt's next pending delivery after it, which may have been held
    waiting for it (its claim looks again whether its turn has come; one that is still
    held goes when its predecessor is done, or at the next ``retry_due``)."""
    following = session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.id)
        .where(
            WebhookDelivery.fullmakt_id == fullmakt_id,
            WebhookDelivery.sequence > sequence,
            WebhookDelivery.status == literal_column(f"'{DeliveryStatus.PENDING.value}'"),
        )
        .order_by(WebhookDelivery.sequence)
    ).all()
    first: dict[uuid.UUID, uuid.UUID] = {}
    for endpoint_id, delivery_id in following:
        first.setdefault(endpoint_id, delivery_id)
    for delivery_id in first.values():
        jobs.enqueue(session, jobs.DELIVER_WEBHOOK, delivery_id=str(delivery_id))


def _release_next(session: Session, delivery: WebhookDelivery) -> None:
    """The delivery is done (succeeded or given up): queue the next event of its
    fullmakt to the same endpoint now, rather than at the next minute's ``retry_due``."""
    if delivery.fullmakt_id is None or delivery.sequence is None:
        return
    following = session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == delivery.endpoint_id,
            WebhookDelivery.fullmakt_id == delivery.fullmakt_id,
            WebhookDelivery.sequence > delivery.sequence,
            WebhookDelivery.status == literal_column(f"'{DeliveryStatus.PENDING.value}'"),
        )
        .order_by(WebhookDelivery.sequence)
        .limit(1)
    )
    if following is not None:
        jobs.enqueue(session, jobs.DELIVER_WEBHOOK, delivery_id=str(following))


def forget_case(session: Session, case_id: uuid.UUID) -> int:
    """Delete the deliveries about a case and their attempt logs (when the case is
    purged: their payloads are under its data key, which is destroyed)."""
    ids = select(WebhookDelivery.id).where(WebhookDelivery.case_id == case_id)
    session.execute(
        delete(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.case_id == case_id)
        .execution_options(synchronize_session="fetch")
    ).rowcount


def _jittered(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311


def backoff(failures: int) -> timedelta:
    """The wait after the ``failures``-th failed attempt in a row (1 = the first)."""
    return _jittered(BACKOFF[min(failures, len(BACKOFF)) - 1])


def _slots(organisation_id: uuid.UUID):
    return concurrency.semaphore(
        f"webhooks:{organisation_id}",
        limit=MAX_CONCURRENT,
        ttl=SLOT_TTL,
        redis_url=dbmod.get().settings.redis_url,
    )


def _tries_in_window(session: Session, delivery: WebhookDelivery) -> int:
    """How many attempts the current retry schedule has had."""
    if delivery.window_started_at is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(WebhookAttempt)
            .where(
                WebhookAttempt.delivery_id == delivery.id,
                WebhookAttempt.attempted_at >= delivery.window_started_at,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Claim:
    """A due attempt this run holds the lease on: everything its POST needs, so the POST
    runs with no session and no transaction (see ``worker.jobs.deliver_webhook``)."""

    delivery_id: uuid.UUID
    organisation_id: uuid.UUID
    lease_until: datetime  # the delivery's next_attempt_at while the lease is ours
    url: str
    # the endpoint's secret entries, and the payload (personal data): never in a repr
    secrets: list[dict[str, Any]] = field(repr=False)
    message_id: str
    body: str = field(repr=False)
    trigger: str  # first | retry | redeliver
    window_started_at: datetime | None
    tries_in_window: int


def claim_attempt(session: Session, delivery_id: uuid.UUID) -> Claim | None:
    """Take the lease on the delivery's attempt if it is due and its turn has come
    (``in_turn``): one conditional UPDATE (it locks the row), so of two runs of the same
    due attempt only one gets it, and a run that dies after it leaves the delivery due
    again when the lease ends. None when there is nothing to send: not due (done,
    failed, or claimed by another run), held behind an earlier event of its fullmakt
    (queued again when that one is done), or given up because its endpoint is
    disabled. Commit it before the POST."""
    now = clock.wall_now()
    lease_until = now + LEASE
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            in_turn(now),
        )
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, populate_existing=True)
    if not endpoint.active:
        _give_up(session, delivery, now)
        return None
    # The state says which attempt this is, whatever the job was queued with: a
    # redelivery that found no free slot is still the start of a new schedule.
    window_start = delivery.window_started_at
    if window_start is None:
        trigger = "first" if delivery.attempts == 0 else "redeliver"
    else:
        trigger = "retry"
    return Claim(
        delivery_id=delivery.id,
        organisation_id=delivery.organisation_id,
        lease_until=lease_until,
        url=endpoint.url,
        secrets=secret_entries(endpoint),
        message_id=delivery.message_id,
        body=delivery.payload,
        trigger=trigger,
        window_started_at=window_start,
        tries_in_window=_tries_in_window(session, delivery),
    )


@dataclass(frozen=True)
class Sent:
    """What became of a claimed attempt's POST."""

    attempted_at: datetime
    done_at: datetime
    result: Result


def send(claim: Claim, *, http: HttpClient | None = None) -> Sent | None:
    """The claimed attempt's signed POST, in one of the organisation's ``MAX_CONCURRENT``
    slots. Uses no database: call it between the claim's transaction and the record's.
    None when no slot came free within ``SLOT_WAIT`` (nothing was sent)."""
    with _slots(claim.organisation_id).slot(wait=SLOT_WAIT) as got:
        if not got:
            return None
        attempted_at = clock.wall_now()
        try:
            # Resolved once and checked; the POST connects to that very address. The
            # demo's and the tests' receivers on this machine are reached by name.
            pin = None if allow_local_http() else pinned_address(claim.url)
        except AddressRefused as refused:
            result = Result(None, 0, str(refused))
        else:
            signing = valid_secrets(claim.secrets, attempted_at)
            result = post(claim.url, signing, claim.message_id, claim.body, http, pin=pin)
    return Sent(attempted_at, clock.wall_now(), result)


def record_attempt(session: Session, claim: Claim, sent: Sent | None) -> str:
    """Write what became of a claimed attempt (``send``), in a transaction of its own.
    Returns "succeeded", "retry" (failed, next attempt scheduled), "failed" (gave up
    after ``GIVE_UP_AFTER``), "busy" (no free slot: put off a few seconds, not counted)
    or "superseded" (the lease was no longer ours: the attempt is logged, the schedule
    is left to whoever changed it, a redelivery or a later run; or the delivery was
    deleted meanwhile, with its purged case)."""
    delivery = session.get(
        WebhookDelivery, claim.delivery_id, with_for_update=True, populate_existing=True
    )
    if delivery is None:
        return "superseded"
    ours = (
        delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at == claim.lease_until
    )
    if sent is None:
        if ours:
            delivery.next_attempt_at = clock.wall_now() + _jittered(BUSY_DELAY)
        return "busy"
    result, attempted_at, done = sent.result, sent.attempted_at, sent.done_at
    session.add(
        WebhookAttempt(
            organisation_id=delivery.organisation_id,
            delivery_id=delivery.id,
            attempted_at=attempted_at,
            trigger=claim.trigger,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
        )
    )
    delivery.attempts += 1
    delivery.last_attempt_at = attempted_at
    delivery.last_status_code = result.status_code
    if not ours:
        return "superseded"
    window_start = claim.window_started_at or attempted_at
    delivery.window_started_at = window_start
    if result.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.succeeded_at = done
        delivery.next_attempt_at = None
        _release_next(session, delivery)
        return "succeeded"
    if done - window_start >= GIVE_UP_AFTER:
        _give_up(session, delivery, done)
        return "failed"
    delivery.next_attempt_at = done + backoff(claim.tries_in_window + 1)
    return "retry"


def _give_up(session: Session, delivery: WebhookDelivery, at: datetime) -> None:
    delivery.status = DeliveryStatus.FAILED
    delivery.failed_at = at
    delivery.next_attempt_at = None
    _release_next(session, delivery)


def retry_due(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Queue an attempt of every pending delivery that is due and whose turn has come
    (the minute job; a held one is not due). One already queued and not yet run is left
    alone, so a slow worker gets no pile-up."""
    now = now or clock.wall_now()
    due = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                in_turn(now),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )
    if not due:
        return 0
    waiting = {
        p.get("delivery_id")
        for p in session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.job == jobs.DELIVER_WEBHOOK,
                OutboxMessage.done_at.is_(None),
                OutboxMessage.created_at > now - LEASE,
            )
        )
    }
    queued = 0
    for delivery_id in due:
        if str(delivery_id) not in waiting:
            jobs.enqueue(session, jobs.DELIVER_WEBHOOK, delivery_id=str(delivery_id))
            queued += 1
    return queued


def redeliver(session: Session, actor: audit.Actor, delivery: WebhookDelivery) -> None:
    """Send the delivery again (whatever its status), with the same ``webhook-id``: the
    attempt is logged as "redeliver" and starts a new retry schedule."""
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise NotAllowed(
            "Adressen är avstängd; händelsen kan inte skickas dit igen.", code="endpoint_disabled"
        )
    session.refresh(delivery, with_for_update=True)
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = clock.wall_now()
    delivery.window_started_at = None  # a new retry schedule from its next attempt
    delivery.succeeded_at = delivery.failed_at = None
    jobs.enqueue(session, jobs.DELIVER_WEBHOOK, delivery_id=str(delivery.id))
    audit.record(
        session,
        actor,
        "webhook.redelivered",
        subject_type="webhook_delivery",
        subject_id=delivery.id,
        details={"message_id": delivery.message_id, "event_type": delivery.event_type},
    )


def _deliveries(organisation_id: uuid.UUID, status: DeliveryStatus | None) -> Select:
    stmt = select(WebhookDelivery).where(WebhookDelivery.organisation_id == organisation_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt


def deliveries_of(
    session: Session,
    organisation_id: uuid.UUID,
    *,
    status: DeliveryStatus | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[WebhookDelivery]:
    """The organisation's deliveries, newest first; ``before`` = (created_at, id) of the
    last one of the previous page. Neither the payload nor the endpoint's secrets are
    loaded (the log shows no personal data), the endpoints in one query for the page."""
    stmt = _deliveries(organisation_id, status).options(
        defer(WebhookDelivery.payload, raiseload=True),
        selectinload(WebhookDelivery.endpoint).load_only(
            WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.active, raiseload=True
        ),
    )
    stmt = dbmod.newest_first(
        stmt, WebhookDelivery.created_at, WebhookDelivery.id, before=before, limit=limit
    )
    return list(session.scalars(stmt))


def delivery_counts(session: Session, organisation_id: uuid.UUID) -> dict[str, int]:
    """The log's tabs (all, and each status) counted in one statement, each to at most
    ``COUNT_CAP + 1`` (shown as "1 000+")."""
    tabs = {"all": _deliveries(organisation_id, None)}
    tabs.update({s.value: _deliveries(organisation_id, s) for s in DeliveryStatus})
    return capped_counts(session, tabs)


def delivery_of(
    session: Session, organisation_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    """One delivery of the organisation with its attempt log (payload not loaded)."""
    return session.scalar(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.organisation_id == organisation_id
        )
        .options(
            defer(WebhookDelivery.payload),
            selectinload(WebhookDelivery.attempt_log),
            selectinload(WebhookDelivery.endpoint),
        )
    )
