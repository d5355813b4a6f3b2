"""Citizens' sign-in and signing with BankID (RP API v6.0), without Flask.

An order row (``BankIdOrder``) keeps what the browser must not see (``qrStartSecret``,
encrypted) and is bound to the browser session that started it: the session holds a
random value, the row its SHA-256, and only a matching session may poll or cancel.

``poll`` asks BankID at most once per ``COLLECT_INTERVAL`` of wall time (BankID wants a
collect every 2 s, never more than once a second) and otherwise answers from the row,
so the page may refresh its animated QR code every second. Orders that ended because
BankID answered with an error keep that ``errorCode`` in ``hint_code``: the two sets of
codes do not overlap (``bankid.ERROR_CODES``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.identity import persons
from shared.identity.models import BankIdOrder, Person
from shared.identity.rules import IdentityNumberError, parse_personnummer
from shared.integrations import bankid
from shared.integrations.bankid import BankIdClient, BankIdError, OrderResponse
from shared.security import audit, crypto

log = logging.getLogger(__name__)

COLLECT_INTERVAL = timedelta(seconds=2)
# BankID ends an order itself after about 3 minutes; past this we stop waiting even if
# it cannot tell us so (maintenance).
GIVE_UP_AFTER = timedelta(minutes=5)
TRANSIENT_ERRORS = frozenset({"maintenance", "requestTimeout", "tooManyRequests"})
# What a sign order keeps as evidence (completionData without anything else).
EVIDENCE_KEYS = ("user", "device", "bankIdIssueDate", "stepUp", "signature", "ocspResponse", "risk")


@dataclass(frozen=True)
class PollResult:
    status: str  # pending | failed | complete
    hint_code: str | None
    person: Person | None = None
    error_code: str | None = None  # an RP API errorCode that ended the order

    def message(self, *, autostarted: bool = False) -> str:
        return bankid.user_message(
            self.status, self.hint_code, autostarted=autostarted, error_code=self.error_code
        )


def new_session_binding() -> str:
    return secrets.token_urlsafe(32)


def _binding_digest(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def _store(
    session: Session,
    answer: OrderResponse,
    *,
    kind: str,
    portal: str,
    session_binding: str,
    user_visible_data: str | None = None,
    purpose: dict[str, Any] | None = None,
) -> BankIdOrder:
    order = BankIdOrder(
        portal=portal,
        kind=kind,
        order_ref=answer.order_ref,
        auto_start_token=answer.auto_start_token,
        qr_start_token=answer.qr_start_token,
        qr_start_secret=answer.qr_start_secret,
        session_binding=_binding_digest(session_binding),
        started_at=clock.wall_now(),  # the QR code's t counts from the answer
        status=bankid.PENDING,
        hint_code="outstandingTransaction",
        user_visible_data=user_visible_data,
        purpose=purpose or {},
    )
    session.add(order)
    session.flush()
    return order


def start_login(
    session: Session, client: BankIdClient, *, portal: str, end_user_ip: str, session_binding: str
) -> BankIdOrder:
    """Start an auth order. Raises ``BankIdError`` (show ``user_message(error_code=…)``)."""
    answer = client.auth(end_user_ip)
    return _store(session, answer, kind="auth", portal=portal, session_binding=session_binding)


def start_sign(
    session: Session,
    client: BankIdClient,
    *,
    portal: str,
    end_user_ip: str,
    session_binding: str,
    user_visible_data: str,
    purpose: dict[str, Any],
    user_non_visible_data: str | None = None,
    personal_number: str | None = None,
) -> BankIdOrder:
    """Start a sign order for ``user_visible_data`` (simpleMarkdownV1).

    ``purpose`` says what is signed (ids only, e.g. ``{"type": "fullmakt", "id": …}``; it is
    stored in clear). ``personal_number`` makes BankID accept only that person.
    """
    requirement = {"personalNumber": personal_number} if personal_number else None
    answer = client.sign(
        end_user_ip,
        user_visible_data,
        user_non_visible_data=user_non_visible_data,
        requirement=requirement,
    )
    return _store(
        session,
        answer,
        kind="sign",
        portal=portal,
        session_binding=session_binding,
        user_visible_data=user_visible_data,
        purpose=purpose,
    )


def order_for_session(
    session: Session,
    order_id: uuid.UUID,
    *,
    portal: str,
    session_binding: str | None,
    kind: str | None = None,
) -> BankIdOrder | None:
    """The order if this browser session started it in this portal, else None."""
    if not session_binding:
        return None
    order = session.get(BankIdOrder, order_id)
    if order is None or order.portal != portal or (kind is not None and order.kind != kind):
        return None
    if not hmac.compare_digest(order.session_binding, _binding_digest(session_binding)):
        return None
    return order


def qr_for(order: BankIdOrder) -> str:
    """The animated QR code's content now (t = whole wall seconds since the order started)."""
    seconds = int((clock.wall_now() - order.started_at).total_seconds())
    return bankid.qr_data(order.qr_start_token, order.qr_start_secret, max(0, seconds))


def _result(order: BankIdOrder, person: Person | None = None) -> PollResult:
    if order.hint_code in bankid.ERROR_CODES:
        return PollResult(order.status, None, person, error_code=order.hint_code)
    return PollResult(order.status, order.hint_code, person)


def poll(session: Session, client: BankIdClient, order: BankIdOrder) -> PollResult:
    """The order's state, collected from BankID when the last collect is 2 s old."""
    if order.status != bankid.PENDING:
        person = session.get(Person, order.person_id) if order.person_id else None
        return _result(order, person)
    now = clock.wall_now()
    if order.last_collect_at is not None and now - order.last_collect_at < COLLECT_INTERVAL:
        return _result(order)
    order.last_collect_at = now
    try:
        answer = client.collect(order.order_ref)
    except BankIdError as exc:
        log.warning("BankID collect failed for order %s: %s", order.id, exc.error_code)
        if exc.error_code in TRANSIENT_ERRORS and now - order.started_at < GIVE_UP_AFTER:
            return _result(order)  # BankID lets us try again; the next poll does
        order.status, order.hint_code = bankid.FAILED, exc.error_code
        return _result(order)
    if answer.status == bankid.PENDING:
        order.hint_code = answer.hint_code
        return _result(order)
    if answer.status == bankid.FAILED:
        order.status, order.hint_code = bankid.FAILED, answer.hint_code
        return _result(order)
    person = _complete(session, order, answer.completion_data or {})
    return _result(order, person)


def _complete(session: Session, order: BankIdOrder, data: dict[str, Any]) -> Person | None:
    user = data.get("user") or {}
    try:
        number = parse_personnummer(str(user.get("personalNumber", "")), clock.today())
    except IdentityNumberError:
        log.error("BankID order %s completed without a valid personalNumber", order.id)
        order.status, order.hint_code = bankid.FAILED, "internalError"
        return None
    person = _find_or_create_person(session, number.digits)
    # BankID's names are the registered ones; take them fresh at every sign-in.
    with persons.key_scope(session, person):  # under the person's own key
        person.given_name = user.get("givenName") or person.given_name
        person.surname = user.get("surname") or person.surname
    order.status, order.hint_code, order.person_id = bankid.COMPLETE, None, person.id
    actor = audit.Actor.person(person.id)
    if order.kind == "sign":
        order.completion = json.dumps(
            {k: data[k] for k in EVIDENCE_KEYS if k in data}, ensure_ascii=False, sort_keys=True
        )
        audit.record(
            session,
            actor,
            "person.sign",
            subject_type="bankid_order",
            subject_id=order.id,
            details={"portal": order.portal, "purpose": order.purpose},
        )
    else:
        person.last_login_at = clock.now()
        audit.record(
            session,
            actor,
            "person.login",
            subject_type="person",
            subject_id=person.id,
            details={"portal": order.portal, "method": "bankid"},
        )
    session.flush()
    return person


def _find_or_create_person(session: Session, digits: str) -> Person:
    index = crypto.blind_index(dbmod.get().settings.blind_index_key, digits)
    person = session.scalar(select(Person).where(Person.pnr_index == index))
    if person is not None:
        return person
    try:
        with session.begin_nested():  # two first sign-ins at once: one wins, one reads
            person = persons.new(session, digits)
    except IntegrityError:
        return session.scalars(select(Person).where(Person.pnr_index == index)).one()
    audit.record(
        session,
        audit.Actor.person(person.id),
        "person.created",
        subject_type="person",
        subject_id=person.id,
        details={"source": "bankid"},
    )
    return person


def cancel(session: Session, client: BankIdClient, order: BankIdOrder) -> None:
    """Stop a pending order here and at BankID (the user pressed "Avbryt")."""
    if order.status != bankid.PENDING:
        return
    try:
        client.cancel(order.order_ref)
    except BankIdError as exc:
        # Already gone at BankID (expired, collected): it is over here too.
        log.info("BankID cancel for order %s: %s", order.id, exc.error_code)
    order.status, order.hint_code = bankid.FAILED, "userCancel"
