"""Fullmakt subscriptions and events: a yes subscribes, events reach every subscriber
(a webhook where the organisation has an endpoint, else a portal notice and an e-mail),
never twice; unsubscribing stops them; a "no" can become a yes; purge takes it all."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.core.errors import FieldError, NotAllowed
from shared.core.mail import EmailMessage
from shared.core.outbox import OutboxMessage
from shared.counselling import answers, events, inquiries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Answer, Debt, FullmaktStatus, InquiryStatus
from shared.creditor_link import (
    customer_inquiries,
    delivery,
    fullmakt_events,
    subscriptions,
    webhook_endpoints,
)
from shared.creditor_link import (
    notices as notice_service,
)
from shared.creditor_link.models import (
    CreditorNotice,
    FullmaktSubscription,
    WebhookAttempt,
    WebhookDelivery,
)
from shared.identity.models import Channel, Creditor, OrgKind, Role
from shared.security.models import AuditEntry
from tests.factories import fullmakt_deadlines, purge_case, register, run_jobs, sign

EVENT_TYPES = [
    "fullmakt.signed",
    "fullmakt.validity_changed",
    "fullmakt.expiring",
    "fullmakt.expired",
    "fullmakt.deleted",
]


class World:
    def __init__(self, db, factories):
        self.db = db
        self.municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
        self.counsellor = factories.user(self.municipality, Role.COUNSELLOR, name="Anna Berg")
        self.case = register(db, self.counsellor).case
        sign(db, self.case)
        self.fullmakt = self.case.fullmakt
        # An API creditor whose system has a webhook endpoint ...
        self.bank = factories.org(OrgKind.CREDITOR, "Kreditbanken")
        self.bank_admin = factories.user(self.bank, Role.CREDITOR_ADMIN, name="Bo Bank")
        self.bank_entry = Creditor(
            name="Kreditbanken",
            organisation_id=self.bank.id,
            channel=Channel.API,
            email="api@kreditbanken.example",
        )
        # ... a web creditor on the platform without one ...
        self.agency = factories.org(OrgKind.AGENCY, "Nordisk Inkasso AB")
        self.agent = factories.user(self.agency, Role.CREDITOR_AGENT, name="Sara Ek")
        self.agency_entry = Creditor(
            name="Nordisk Inkasso AB",
            organisation_id=self.agency.id,
            channel=Channel.WEB,
            email="inkorg@example.se",
        )
        # ... and one known only by its e-mail address.
        self.external = Creditor(
            name="Extern Finans AB", channel=Channel.WEB, email="extern@example.se"
        )
        db.add_all([self.bank_entry, self.agency_entry, self.external])
        db.flush()
        webhook_endpoints.add_endpoint(db, self.bank_admin, "https://bank.example/hooks")
        run_fan_outs(db)  # fullmakt.signed, before anyone subscribed

    def ask(self, *creditors):
        sent = inquiries.send_inquiries(
            self.db, self.counsellor, self.case, [c.id for c in creditors]
        )
        for inquiry in sent:
            delivery.deliver(self.db, inquiry.id)
        by_creditor = {i.creditor_id: i for i in sent}
        return [by_creditor[c.id] for c in creditors]

    def yes(self, inquiry, by, **kw):
        answered = answers.answer(
            self.db,
            inquiry,
            answer=Answer.YES,
            debts=[debt()],
            source="form",
            actor=Actor.user(by),
            **kw,
        )
        run_jobs(self.db, jobs.FOLLOW_YES_ANSWER)  # subscribe, send the fullmakt
        return answered

    def no(self, inquiry, by):
        return answers.answer(
            self.db, inquiry, answer=Answer.NO, debts=[], source="form", actor=Actor.user(by)
        )

    def subscription(self, creditor):
        return self.db.scalar(
            select(FullmaktSubscription).where(FullmaktSubscription.creditor_id == creditor.id)
        )


@pytest.fixture
def w(db, factories) -> World:
    return World(db, factories)


def debt(**kw):
    base = {"kind": "loan", "capital": "12 345,50", "reference": "L-1"}
    return answers.parse_debt({**base, **kw}, creditor_name="Borgenären")


def run_fan_outs(db) -> int:
    """The worker's part: run the queued fan-outs (not the webhook deliveries: those
    would go out on the network)."""
    db.commit()
    pending = db.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.job == jobs.FAN_OUT_FULLMAKT_EVENT, OutboxMessage.done_at.is_(None)
        )
    ).all()
    for msg_id in pending:
        assert jobs.run_message(msg_id) == "done"
    db.expire_all()
    return len(pending)


def deliveries(db, org, event_type):
    return db.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.organisation_id == org.id, WebhookDelivery.event_type == event_type
        )
    ).all()


def notices(db, org, event_type):
    return db.scalars(
        select(CreditorNotice).where(
            CreditorNotice.organisation_id == org.id, CreditorNotice.event_type == event_type
        )
    ).all()


def emails(db, to, kind):
    return [
        m for m in db.scalars(select(EmailMessage).where(EmailMessage.kind == kind)) if m.to == to
    ]


# -- yes answers subscribe ---------------------------------------------------------------


def test_a_yes_subscribes_and_sends_the_fullmakt_to_the_creditors_system(db, w):
    [inquiry] = w.ask(w.bank_entry)
    w.yes(inquiry, w.bank_admin)
    sub = w.subscription(w.bank_entry)
    assert sub.active and sub.source == "answer" and sub.organisation_id == w.bank.id
    assert sub.fullmakt_id == w.fullmakt.id and sub.case_id == w.case.id
    [sent] = deliveries(db, w.bank, "fullmakt.sent")
    assert sent.case_id == w.case.id  # personal data: shredded with the case
    body = json.loads(sent.payload)
    assert body["type"] == "fullmakt.sent"
    data = body["data"]
    assert data["id"] == str(w.fullmakt.id) and data["code"] == w.fullmakt.code
    assert data["type"] == "debt_counselling" and data["status"] == "active"
    assert data["principal"] == {"personal_number": "198403122719", "name": "Erik Andersson"}
    assert data["agent"] == {
        "organisation": "Skövde kommun",
        "orgnr": w.municipality.orgnr,
        "counsellor": "Anna Berg",
    }
    assert data["valid_until"] == w.fullmakt.valid_until.isoformat()
    assert data["inquiry_id"] == str(inquiry.id)
    assert db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "fullmakt.sent", AuditEntry.subject_id == str(w.fullmakt.id)
        )
    )


def test_a_yes_without_sending_subscribes_only(db, w):
    [inquiry] = w.ask(w.bank_entry)
    w.yes(inquiry, w.bank_admin, send_fullmakt=False)
    assert w.subscription(w.bank_entry).active
    assert deliveries(db, w.bank, "fullmakt.sent") == []


def test_a_no_does_not_subscribe_and_an_external_creditor_cannot(db, w):
    agency_inquiry, external_inquiry = w.ask(w.agency_entry, w.external)
    w.no(agency_inquiry, w.agent)
    w.yes(external_inquiry, w.counsellor)  # typed in from a letter: no organisation
    assert db.scalars(select(FullmaktSubscription)).all() == []
    with pytest.raises(NotAllowed):
        subscriptions.subscribe(
            db, w.agency_entry, w.fullmakt, source="portal", by=Actor.user(w.agent)
        )
    with pytest.raises(NotAllowed):
        subscriptions.subscribe(db, w.external, w.fullmakt, source="portal", by=Actor("user", "x"))


def test_a_no_changed_to_yes_stores_debts_subscribes_and_shows_in_the_report(db, w):
    [inquiry] = w.ask(w.bank_entry)
    w.no(inquiry, w.bank_admin)
    first_answer = inquiry.answered_at
    with pytest.raises(NotAllowed, match="redan besvarad"):
        w.no(inquiry, w.bank_admin)  # no -> no is not a change
    answers.answer(
        db,
        inquiry,
        answer=Answer.YES,
        debts=[debt(), debt(reference="L-2")],
        source="form",
        actor=Actor.user(w.bank_admin),
        send_fullmakt=True,
    )
    run_jobs(db, jobs.FOLLOW_YES_ANSWER)
    assert inquiry.answer == Answer.YES and inquiry.status == InquiryStatus.ANSWERED
    assert inquiry.answered_at == first_answer and inquiry.changed_at is not None
    assert len(db.scalars(select(Debt).where(Debt.inquiry_id == inquiry.id)).all()) == 2
    assert w.subscription(w.bank_entry).active
    assert len(deliveries(db, w.bank, "fullmakt.sent")) == 1
    report = inquiries.report(db, w.case)
    [row] = report.inquiries
    assert row.answer == Answer.YES and len(row.debts) == 2 and report.answered == 1
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "inquiry.answer_changed"))
    with pytest.raises(NotAllowed, match="redan besvarad"):
        w.yes(inquiry, w.bank_admin)  # yes is final


def test_a_yes_typed_in_by_the_counsellor_subscribes_through_the_worker(db, w):
    [inquiry] = w.ask(w.agency_entry)
    with dbmod.tenant(w.municipality.id):  # the counsellor's request
        answers.answer(
            db,
            inquiry,
            answer=Answer.YES,
            debts=[debt()],
            source="manual",
            actor=Actor.user(w.counsellor),
        )
    assert w.subscription(w.agency_entry) is None  # not in the municipality's transaction
    db.commit()
    [msg] = db.scalars(
        select(OutboxMessage).where(OutboxMessage.job == jobs.FOLLOW_YES_ANSWER)
    ).all()
    assert jobs.run_message(msg.id) == "done"
    db.expire_all()
    assert w.subscription(w.agency_entry).active


# -- fetch (hämta) ------------------------------------------------------------------------


def test_fetch_sends_the_fullmakt_again_only_with_an_endpoint_and_a_yes(db, w):
    bank_inquiry, agency_inquiry = w.ask(w.bank_entry, w.agency_entry)
    with pytest.raises(NotAllowed, match="ja-svar"):
        subscriptions.send_fullmakt(db, w.bank_entry, w.fullmakt, by=Actor("user", "x"))
    w.yes(bank_inquiry, w.bank_admin, send_fullmakt=False)
    first = subscriptions.send_fullmakt(db, w.bank_entry, w.fullmakt, by=Actor.user(w.bank_admin))
    again = subscriptions.send_fullmakt(db, w.bank_entry, w.fullmakt, by=Actor.user(w.bank_admin))
    assert len(first) == len(again) == 1
    assert first[0].message_id != again[0].message_id  # a new event each time it is asked
    assert len(deliveries(db, w.bank, "fullmakt.sent")) == 2
    w.yes(agency_inquiry, w.agent)
    with pytest.raises(NotAllowed, match="webhook-adress"):
        subscriptions.send_fullmakt(db, w.agency_entry, w.fullmakt, by=Actor.user(w.agent))
    assert deliveries(db, w.agency, "fullmakt.sent") == []


def test_fetch_is_refused_once_the_fullmakt_has_ended(db, w):
    [inquiry] = w.ask(w.bank_entry)
    w.yes(inquiry, w.bank_admin, send_fullmakt=False)
    fullmakt_service.revoke(db, w.case.person, w.fullmakt)
    with pytest.raises(NotAllowed, match="gäller inte"):
        subscriptions.send_fullmakt(db, w.bank_entry, w.fullmakt, by=Actor("user", "x"))


# -- events ---------------------------------------------------------------------------------


def test_every_event_reaches_every_subscriber_once(db, w):
    bank_inquiry, agency_inquiry = w.ask(w.bank_entry, w.agency_entry)
    w.yes(bank_inquiry, w.bank_admin, send_fullmakt=False)
    w.yes(agency_inquiry, w.agent)
    fullmakt, case = w.fullmakt, w.case
    code, fullmakt_id = fullmakt.code, str(fullmakt.id)
    start, end = clock.now(), fullmakt.valid_until

    events.publish(db, fullmakt, "fullmakt.signed")
    assert run_fan_outs(db) == 1
    shorter = clock.today() + timedelta(days=40)
    assert (
        fullmakt_service.change_validity(db, w.counsellor, case, shorter, today=clock.today())
        is True
    )
    assert run_fan_outs(db) == 1
    near = start + timedelta(days=15)
    assert fullmakt_deadlines(db, near)["noticed"] == 1
    assert fullmakt_deadlines(db, near)["noticed"] == 0  # twice changes nothing
    assert run_fan_outs(db) == 1
    after = start + timedelta(days=41, hours=12)
    assert fullmakt_deadlines(db, after)["expired"] == 1
    assert fullmakt_deadlines(db, after)["expired"] == 0
    assert run_fan_outs(db) == 1
    assert fullmakt_deadlines(db, after + timedelta(days=31))["purged"] == 1
    assert run_fan_outs(db) == 0  # the deletion went out synchronously, in the purge
    assert run_fan_outs(db) == 0

    numbers = []
    for event_type in EVENT_TYPES:
        [hook] = deliveries(db, w.bank, event_type)
        body = json.loads(hook.payload)
        assert body["type"] == event_type and body["data"]["code"] == code
        assert body["data"]["fullmakt_id"] == fullmakt_id
        # numbered per fullmakt, the delivery carrying its place for the order
        assert (str(hook.fullmakt_id), hook.sequence) == (fullmakt_id, body["data"]["sequence"])
        numbers.append(hook.sequence)
        assert hook.case_id is None  # no personal data: outlives the case
        [notice] = notices(db, w.agency, event_type)
        assert notice.data["code"] == code and notice.fullmakt_id == fullmakt.id
        [mail] = emails(db, "inkorg@example.se", event_type)
        assert code in mail.body and "Erik" not in mail.body and "19840312" not in mail.body
        assert deliveries(db, w.agency, event_type) == []  # no endpoint: no webhook
        assert notices(db, w.bank, event_type) == []  # an endpoint: no notice
    changed = json.loads(deliveries(db, w.bank, "fullmakt.validity_changed")[0].payload)["data"]
    assert changed["valid_until"] == shorter.isoformat()
    assert changed["previous_valid_until"] == end.isoformat()
    expired = notices(db, w.agency, "fullmakt.expired")[0].data
    assert expired["reason"] == "expired" and expired["status"] == "expired"
    deleted = notices(db, w.agency, "fullmakt.deleted")[0].data
    assert deleted["reason"] == "retention_ended" and deleted["status"] == "deleted"
    assert numbers == sorted(numbers) and len(set(numbers)) == len(EVENT_TYPES)
    assert set(deleted) == {
        "fullmakt_id",
        "sequence",
        "code",
        "status",
        "valid_from",
        "valid_until",
        "occurred_at",
        "reason",
    }


def test_a_fan_out_run_twice_sends_once(db, w):
    [inquiry] = w.ask(w.agency_entry)
    w.yes(inquiry, w.agent)
    event = events.event_for(db, w.fullmakt, "fullmakt.expiring")
    assert fullmakt_events.fan_out(db, event) == 1
    assert fullmakt_events.fan_out(db, event) == 0
    assert len(notices(db, w.agency, "fullmakt.expiring")) == 1
    assert len(emails(db, "inkorg@example.se", "fullmakt.expiring")) == 1


def test_revocation_reaches_subscribers_and_creditors_still_waiting_to_answer(db, w, factories):
    other = factories.org(OrgKind.CREDITOR, "Nej Banken AB")
    said_no = Creditor(
        name="Nej Banken AB", organisation_id=other.id, channel=Channel.WEB, email="nej@example.se"
    )
    db.add(said_no)
    db.flush()
    bank_inquiry, _agency, _external, no_inquiry = w.ask(
        w.bank_entry, w.agency_entry, w.external, said_no
    )
    w.yes(bank_inquiry, w.bank_admin, send_fullmakt=False)
    w.no(no_inquiry, w.counsellor)
    fullmakt_service.revoke(db, w.case.person, w.fullmakt)
    assert run_fan_outs(db) == 1
    [hook] = deliveries(db, w.bank, "fullmakt.revoked")
    data = json.loads(hook.payload)["data"]
    assert data["reason"] == "revoked_by_principal" and data["status"] == "revoked"
    assert len(notices(db, w.agency, "fullmakt.revoked")) == 1  # its inquiry is void now
    assert len(emails(db, "inkorg@example.se", "fullmakt.revoked")) == 1
    assert len(emails(db, "extern@example.se", "fullmakt.revoked")) == 1
    assert notices(db, other, "fullmakt.revoked") == []  # answered no, not subscribed
    assert emails(db, "nej@example.se", "fullmakt.revoked") == []


def test_unsubscribing_stops_the_events_and_subscribing_resumes_them(db, w):
    [inquiry] = w.ask(w.bank_entry)
    w.yes(inquiry, w.bank_admin, send_fullmakt=False)
    sub = w.subscription(w.bank_entry)
    subscriptions.unsubscribe(db, sub, by=Actor.user(w.bank_admin))
    subscriptions.unsubscribe(db, sub, by=Actor.user(w.bank_admin))  # no-op
    assert not sub.active and sub.ended_by == Actor("user", str(w.bank_admin.id))
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "fullmakt_subscription.ended")
        )
        == 1
    )
    fullmakt_service.change_validity(
        db, w.counsellor, w.case, clock.today() + timedelta(days=60), today=clock.today()
    )
    run_fan_outs(db)
    assert deliveries(db, w.bank, "fullmakt.validity_changed") == []
    again = subscriptions.subscribe(
        db, w.bank_entry, w.fullmakt, source="portal", by=Actor.user(w.bank_admin)
    )
    assert again.id == sub.id and again.active and again.source == "portal"
    assert again.ended_at is None
    fullmakt_service.change_validity(
        db, w.counsellor, w.case, clock.today() + timedelta(days=50), today=clock.today()
    )
    run_fan_outs(db)
    assert len(deliveries(db, w.bank, "fullmakt.validity_changed")) == 1


# -- changing the validity ------------------------------------------------------------------------


def test_the_counsellor_may_only_shorten_the_validity(db, w, factories):
    case, fullmakt = w.case, w.fullmakt
    end = fullmakt.valid_until
    with pytest.raises(FieldError, match="bara kortas") as exc:
        fullmakt_service.change_validity(
            db, w.counsellor, case, end + timedelta(days=1), today=clock.today()
        )
    assert exc.value.field == "valid_until"
    with pytest.raises(FieldError, match="passerat"):
        fullmakt_service.change_validity(
            db, w.counsellor, case, clock.today() - timedelta(days=1), today=clock.today()
        )
    with pytest.raises(FieldError, match="Ange"):
        fullmakt_service.change_validity(db, w.counsellor, case, None, today=clock.today())
    colleague = factories.user(w.municipality, Role.COUNSELLOR)
    with pytest.raises(NotAllowed):
        fullmakt_service.change_validity(db, colleague, case, clock.today(), today=clock.today())
    assert (
        fullmakt_service.change_validity(db, w.counsellor, case, end, today=clock.today()) is False
    )  # no change
    assert run_fan_outs(db) == 0
    assert (
        fullmakt_service.change_validity(db, w.counsellor, case, clock.today(), today=clock.today())
        is True
    )
    assert (
        fullmakt.valid_until == clock.today()
        and fullmakt.history[-1]["event"] == "validity_changed"
    )
    assert run_fan_outs(db) == 1
    fullmakt_service.revoke(db, case.person, fullmakt)
    with pytest.raises(NotAllowed):
        fullmakt_service.change_validity(db, w.counsellor, case, clock.today(), today=clock.today())


# -- tenancy and purge ----------------------------------------------------------------------------


def test_another_organisation_sees_nothing(db, w):
    [inquiry] = w.ask(w.bank_entry)
    w.yes(inquiry, w.bank_admin, send_fullmakt=False)
    sub = w.subscription(w.bank_entry)
    fullmakt_events.fan_out(db, events.event_for(db, w.fullmakt, "fullmakt.expiring"))
    db.commit()
    inquiry_id = inquiry.id  # read before the other tenant's view, which cannot see it
    with dbmod.tenant(w.agency.id):
        assert subscriptions.subscriptions_of(db, w.agency.id) == []
        assert subscriptions.subscription_of(db, w.agency.id, sub.id) is None
        assert subscriptions.fullmakt_for_creditor(db, w.agency.id, w.fullmakt.id) is None
        assert (
            customer_inquiries.customer_inquiries(db, w.agency.id, personnummer="198403122719")
            == []
        )
        assert customer_inquiries.customer_inquiry(db, w.agency.id, inquiry_id) is None
        assert notice_service.notices_of(db, w.agency.id) == []
    with dbmod.tenant(w.bank.id):
        assert subscriptions.subscriptions_of(db, w.bank.id) == [sub]
        assert subscriptions.subscriptions_of(db, w.bank.id, active=False) == []
        assert subscriptions.fullmakt_for_creditor(db, w.bank.id, w.fullmakt.id) is not None


def test_subscriptions_page_by_cursor(db, w, factories):
    [inquiry] = w.ask(w.bank_entry)
    w.yes(inquiry, w.bank_admin, send_fullmakt=False)
    with clock.frozen(clock.now() + timedelta(minutes=5)):  # the newer subscription
        second = register(db, w.counsellor, pnr="199105273420", email="t@example.se").case
        sign(db, second)
        [other] = inquiries.send_inquiries(db, w.counsellor, second, [w.bank_entry.id])
        delivery.deliver(db, other.id)
        w.yes(other, w.bank_admin, send_fullmakt=False)
    first_page = subscriptions.subscriptions_of(db, w.bank.id, limit=1)
    assert [s.fullmakt_id for s in first_page] == [second.fullmakt.id]  # newest first
    last = first_page[-1]
    rest = subscriptions.subscriptions_of(db, w.bank.id, before=(last.created_at, last.id))
    assert [s.fullmakt_id for s in rest] == [w.fullmakt.id]


def test_purge_removes_subscriptions_and_deliveries_after_telling_the_subscribers(db, w):
    bank_inquiry, agency_inquiry = w.ask(w.bank_entry, w.agency_entry)
    w.yes(bank_inquiry, w.bank_admin)  # fullmakt.sent: about the case
    w.yes(agency_inquiry, w.agent)
    [sent] = deliveries(db, w.bank, "fullmakt.sent")
    db.add(
        WebhookAttempt(
            organisation_id=w.bank.id,
            delivery_id=sent.id,
            trigger="first",
            status_code=503,
            latency_ms=12,
        )
    )
    db.flush()
    case_id = w.case.id
    purge_case(db, w.case, "retention_ended")
    db.flush()
    db.expire_all()
    assert db.scalars(select(FullmaktSubscription)).all() == []
    assert db.scalars(select(WebhookDelivery).where(WebhookDelivery.case_id == case_id)).all() == []
    assert db.scalars(select(WebhookAttempt)).all() == []
    [deleted] = deliveries(db, w.bank, "fullmakt.deleted")
    assert json.loads(deleted.payload)["data"]["reason"] == "retention_ended"
    [notice] = notices(db, w.agency, "fullmakt.deleted")
    assert notice.data["status"] == FullmaktStatus.DELETED.value


def test_notices_are_marked_read(db, w):
    [inquiry] = w.ask(w.agency_entry)
    w.yes(inquiry, w.agent)
    for event_type in ("fullmakt.expiring", "fullmakt.validity_changed"):
        fullmakt_events.fan_out(db, events.event_for(db, w.fullmakt, event_type))
    assert notice_service.unread_notices(db, w.agency.id) == 2
    newest, oldest = notice_service.notices_of(db, w.agency.id)
    assert notice_service.mark_notices_read(db, w.agent, oldest.id) == 1
    assert notice_service.unread_notices(db, w.agency.id) == 1
    assert notice_service.mark_notices_read(db, w.agent) == 1
    assert notice_service.unread_notices(db, w.agency.id) == 0
