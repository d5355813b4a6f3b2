"""Jobs: plain functions taking ``(session, **payload)`` that call shared services.

They run inside the transaction that marks their outbox message done (see
``shared.jobs``), so a job that runs twice changes nothing the second time.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.security import audit


def record_heartbeat(session: Session, *, note: str) -> None:
    """A trivial job that proves the pipeline end to end (healthz, tests, `make worker`)."""
    audit.record(session, audit.Actor.system("worker"), "worker.heartbeat",
                 details={"note": note})


def send_email(session: Session, *, message_id: str) -> None:
    import uuid

    from shared.services.email import send_queued

    send_queued(session, uuid.UUID(message_id))


def deliver_inquiry(session: Session, *, inquiry_id: str) -> None:
    import uuid

    from shared.services.inquiries import deliver

    deliver(session, uuid.UUID(inquiry_id))


def fan_out_fullmakt_event(session: Session, *, event: dict) -> None:
    """Send a fullmakt event to its subscribers (unscoped: their rows are theirs)."""
    from shared.services import subscriptions

    subscriptions.fan_out(session, event)


def follow_yes_answer(session: Session, *, inquiry_id: str, send: bool, by: str) -> None:
    """Subscribe the creditor after a yes the counsellor typed in (and send the fullmakt)."""
    import contextlib
    import uuid

    from shared.models import Inquiry
    from shared.services import subscriptions
    from shared.services.errors import NotAllowed

    inquiry = session.get(Inquiry, uuid.UUID(inquiry_id))
    # NotAllowed: the fullmakt ended before the worker came to it; nothing to follow.
    if inquiry is not None:
        with contextlib.suppress(NotAllowed):
            subscriptions.follow_yes(session, inquiry, send=send, by=by)


def deliver_webhook(session: Session, *, delivery_id: str, trigger: str | None = None) -> None:
    """One attempt of a webhook delivery. An HTTP failure is recorded and rescheduled,
    not raised, so the outbox message is done either way. (``trigger``, in messages
    queued by earlier versions, is ignored: the delivery's state says which attempt.)"""
    import uuid

    from shared.services import webhooks

    webhooks.attempt(session, uuid.UUID(delivery_id))
