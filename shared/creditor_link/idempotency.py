"""Idempotency keys for the creditor API's POST requests (the IETF draft
"The Idempotency-Key HTTP Header Field", as Stripe and others use it).

A request with a key first *claims* it in its own short transaction, so a concurrent
repeat sees it in progress (409). The first successful (2xx) response is then stored in
the request's own transaction, together with the work it did; a failed request releases
the claim, so the client may try again with the same key. A repeat with the same key
and the same request gets the stored response; with another request, a 422. Records are
kept for 24 hours (``purge_expired``, run periodically).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.core import clock
from shared.creditor_link.models import IdempotencyRecord

KEEP = timedelta(hours=24)
# A claim older than this was left by a request that died before it could release it.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255


def request_hash(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the method, the path and the body; a JSON body counts by its content,
    not its formatting (key order and whitespace do not make another request)."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claimed:
    record_id: uuid.UUID


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: str


@dataclass(frozen=True)
class Mismatch:
    endpoint: str  # the request the key was first used for


@dataclass(frozen=True)
class InProgress:
    pass


Outcome = Claimed | Replay | Mismatch | InProgress


def claim(
    session: Session, organisation_id: uuid.UUID, key: str, *, endpoint: str, fingerprint: str
) -> Outcome:
    """Claim ``key`` for this request, or say why not. Run it in a transaction of its
    own and commit it at once: the claim must be visible to concurrent requests."""
    now = clock.now()
    for _attempt in range(2):
        record = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.organisation_id == organisation_id, IdempotencyRecord.key == key
            )
        )
        if record is not None and (
            record.expires_at <= now
            or (record.status_code is None and record.created_at <= now - ABANDONED_AFTER)
        ):
            session.delete(record)  # expired, or abandoned by a crashed request
            session.flush()
            record = None
        if record is None:
            record = IdempotencyRecord(
                organisation_id=organisation_id,
                key=key,
                endpoint=endpoint,
                request_hash=fingerprint,
                created_at=now,
                expires_at=now + KEEP,
            )
            try:
                with session.begin_nested():
                    session.add(record)
            except IntegrityError:
                continue  # a concurrent request claimed it first: look again
            return Claimed(record.id)
        if record.request_hash != fingerprint:
            return Mismatch(record.endpoint)
        if record.status_code is None:
            return InProgress()
        return Replay(record.status_code, record.response_body or "")
    return InProgress()


def complete(session: Session, record_id: uuid.UUID, status_code: int, body: str) -> None:
    """Store the response in the request's transaction (it commits with the work)."""
    record = session.get(IdempotencyRecord, record_id)
    if record is not None:
        record.status_code = status_code
        record.response_body = body


def release(session: Session, record_id: uuid.UUID) -> None:
    """Forget a claim whose request did not succeed (its own transaction)."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.status_code.is_(None)
        )
    )


def purge_expired(session: Session) -> int:
    """Delete the records older than 24 hours, of every organisation (periodic job)."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= clock.now())
    )
    return result.rowcount or 0
