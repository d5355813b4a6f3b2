"""Jobs: plain functions taking ``(session, **payload)`` that call shared services.

They run inside the transaction that marks their outbox message done (see
``shared.core.jobs``, which holds the registry of their names), so a job that runs twice
changes nothing the second time. The one exception is ``deliver_webhook``: it holds no
transaction during its HTTP request, and its lease makes a second run a no-op instead.
"""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy.orm import Session

from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.core.errors import NotAllowed
from shared.core.mail import send_queued
from shared.counselling.models import Inquiry
from shared.creditor_link import delivery, fullmakt_events, subscriptions, webhooks
from shared.integrations import mail
from shared.integrations.webhook_http import HttpClient
from shared.security import audit


def record_heartbeat(session: Session, *, note: str) -> None:
    """A trivial job that proves the pipeline end to end (healthz, tests, `make worker`)."""
    audit.record(session, audit.Actor.system("worker"), "worker.heartbeat", details={"note": note})


def send_email(session: Session, *, message_id: str) -> None:
    send_queued(session, uuid.UUID(message_id), mail.send)


def deliver_inquiry(session: Session, *, inquiry_id: str) -> None:
    delivery.deliver(session, uuid.UUID(inquiry_id))


def fan_out_fullmakt_event(session: Session, *, event: dict) -> None:
    """Send a fullmakt event to its subscribers (unscoped: their rows are theirs)."""
    fullmakt_events.fan_out(session, event)


def fan_out_fullmakt_event_given_up(session: Session, *, event: dict) -> None:
    """The outbox gave the event's fan-out up: the fullmakt's later events go without it."""
    fullmakt_events.given_up(session, event)


def follow_yes_answer(
    session: Session,
    *,
    inquiry_id: str,
    send: bool,
    actor: dict | None = None,
    by: str | None = None,
) -> None:
    """Subscribe the creditor after a yes answer (and send it the fullmakt). (``by``, a
    "kind:id" string in messages queued by earlier versions, is read as the actor.)"""
    if actor is not None:
        who = Actor.from_json(actor)
    else:
        kind, _sep, ident = (by or "system").partition(":")
        who = Actor(kind, ident or None)
    inquiry = session.get(Inquiry, uuid.UUID(inquiry_id))
    # NotAllowed: the fullmakt ended before the worker came to it; nothing to follow.
    if inquiry is not None:
        with contextlib.suppress(NotAllowed):
            subscriptions.follow_yes(session, inquiry, send=send, by=who)


def deliver_webhook(session: Session, *, delivery_id: str, trigger: str | None = None) -> None:
    """One attempt of a webhook delivery, with no transaction open while the receiver
    answers. An HTTP failure is recorded and rescheduled, not raised, so the outbox
    message is done either way. (``trigger``, in messages queued by earlier versions, is
    ignored: the delivery's state says which attempt.)"""
    # The runner's transaction has only read (and locked) the outbox message: end it, so
    # that nothing is held during the POST (and SQLite's one writer is free for the
    # claim). The delivery's lease, not the message's lock, keeps two runs apart.
    session.commit()
    attempt_webhook(uuid.UUID(delivery_id))


def attempt_webhook(delivery_id: uuid.UUID, *, http: HttpClient | None = None) -> str:
    """Claim the attempt (committed), POST it (no transaction), record it (committed);
    see ``shared.creditor_link.webhooks``. A process that dies in between leaves a lease
    that runs out, and the minute job queues the attempt again. Returns what
    ``record_attempt`` says, or "skipped" when there was nothing to send."""
    with dbmod.system_scope():  # a job: the delivery's tenant is not the worker's
        with dbmod.session_scope() as session:
            claim = webhooks.claim_attempt(session, delivery_id)
        if claim is None:
            return "skipped"
        sent = webhooks.send(claim, http=http)
        with dbmod.session_scope() as session:
            return webhooks.record_attempt(session, claim, sent)
