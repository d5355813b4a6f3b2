"""Inquiries to creditors: sending, delivery by channel, deadlines, answers, manual debts."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text
from standardwebhooks.webhooks import Webhook

from shared.core.actor import Actor
from shared.core.errors import FieldError, NotAllowed
from shared.core.mail import EmailMessage
from shared.core.outbox import OutboxMessage
from shared.counselling import answers, inquiries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Answer, Debt, DebtSource, InquiryStatus
from shared.creditor_link import delivery as inquiry_delivery
from shared.creditor_link import inbox as creditor_inbox
from shared.creditor_link import webhook_endpoints
from shared.creditor_link.models import WebhookDelivery, WebhookEndpoint
from shared.identity.models import Channel, Creditor, OrgKind, Role
from shared.security import crypto
from tests.factories import purge_case, register, sign
from worker.jobs import attempt_webhook


@pytest.fixture
def setup(db, factories):
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    counsellor = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    case = register(db, counsellor).case
    sign(db, case)
    agency = factories.org(OrgKind.AGENCY, "Nordisk Inkasso AB")
    web = Creditor(
        name="Nordisk Inkasso AB",
        organisation_id=agency.id,
        channel=Channel.WEB,
        email="inkorg@example.se",
    )
    bank = factories.org(OrgKind.CREDITOR, "Kreditbanken")
    api = Creditor(name="Kreditbanken", organisation_id=bank.id, channel=Channel.API)
    manual = Creditor(name="CSN", channel=Channel.MANUAL, postal_address="851 82 Sundsvall")
    db.add_all([web, api, manual])
    db.flush()
    return counsellor, case, web, api, manual


def debt(**kw):
    base = {"kind": "loan", "capital": "12 345,50", "reference": "L-1"}
    return answers.parse_debt({**base, **kw}, creditor_name="Nordisk Inkasso AB")


def test_send_creates_one_inquiry_per_creditor_and_queues_delivery(db, setup):
    counsellor, case, web, api, manual = setup
    sent = inquiries.send_inquiries(db, counsellor, case, [web.id, api.id, manual.id])
    assert {i.channel for i in sent} == {Channel.WEB, Channel.API, Channel.MANUAL}
    assert all(i.status == InquiryStatus.QUEUED for i in sent)
    jobs_queued = db.scalars(select(OutboxMessage.job)).all()
    assert jobs_queued.count("worker.jobs.deliver_inquiry") == 3
    again = inquiries.send_inquiries(db, counsellor, case, [web.id])
    assert again == []  # an open inquiry is not sent twice


def test_no_inquiry_without_a_valid_fullmakt(db, setup):
    counsellor, case, web, *_ = setup
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    with pytest.raises(NotAllowed):
        inquiries.send_inquiries(db, counsellor, case, [web.id])


def test_delivery_by_channel(db, setup):
    counsellor, case, web, api, manual = setup
    secret = webhook_endpoints.new_secret()
    db.add(
        WebhookEndpoint(
            organisation_id=api.organisation_id,
            url="https://bank.example/hooks",
            secrets=json.dumps(
                [{"secret": secret, "created_at": "2026-01-01", "expires_at": None}]
            ),
        )
    )
    sent = inquiries.send_inquiries(db, counsellor, case, [web.id, api.id, manual.id])
    w, a, m = (next(i for i in sent if i.creditor_id == c.id) for c in (web, api, manual))
    received = []

    def hook(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    http = httpx.Client(transport=httpx.MockTransport(hook))
    assert inquiry_delivery.deliver(db, w.id) == "delivered"
    notice = db.scalars(select(EmailMessage).where(EmailMessage.kind == "inquiry.notice")).one()
    assert notice.to == "inkorg@example.se" and str(w.id) in notice.body
    # The API creditor's delivery is queued in the same transaction, sent by the worker.
    assert inquiry_delivery.deliver(db, a.id) == "delivered"
    [delivery] = db.scalars(select(WebhookDelivery)).all()
    assert delivery.event_type == "inquiry.created" and delivery.case_id == case.id
    assert (
        crypto.token_key_id(db.scalar(text("SELECT payload FROM webhook_deliveries")))
        == case.data_key_id
    )
    assert attempt_webhook(delivery.id, http=http) == "succeeded"
    [request] = received
    body = Webhook(secret).verify(request.content, dict(request.headers))
    assert request.headers["webhook-id"] == delivery.message_id
    assert body["type"] == "inquiry.created"
    assert body["data"]["inquiry_id"] == str(a.id)
    assert body["data"]["personal_number"] == "198403122719"  # to find the customer
    assert body["data"]["fullmakt"]["code"] == case.fullmakt.code
    assert inquiry_delivery.deliver(db, m.id) == "delivered"
    assert inquiry_delivery.deliver(db, m.id) == "skipped"  # twice changes nothing


def test_api_creditor_without_an_endpoint_fetches_through_the_api(db, setup):
    counsellor, case, _web, api, _manual = setup
    [a] = inquiries.send_inquiries(db, counsellor, case, [api.id])
    assert inquiry_delivery.deliver(db, a.id) == "delivered"
    assert a.status == InquiryStatus.DELIVERED
    assert db.scalars(select(WebhookDelivery)).all() == []


def test_reminder_then_overdue(db, setup):
    counsellor, case, web, *_ = setup
    [w] = inquiries.send_inquiries(db, counsellor, case, [web.id])
    inquiry_delivery.deliver(db, w.id)
    start = w.delivered_at
    assert inquiries.process_deadlines(db, start + timedelta(days=6)) == {
        "reminded": 0,
        "overdue": 0,
    }
    assert inquiries.process_deadlines(db, start + timedelta(days=7))["reminded"] == 1
    assert inquiries.process_deadlines(db, start + timedelta(days=8))["reminded"] == 0
    assert inquiries.process_deadlines(db, start + timedelta(days=14))["overdue"] == 1
    assert w.status == InquiryStatus.OVERDUE


def test_answer_yes_stores_debts_under_the_case_key(db, setup):
    counsellor, case, web, *_ = setup
    [w] = inquiries.send_inquiries(db, counsellor, case, [web.id])
    inquiry_delivery.deliver(db, w.id)
    answers.answer(
        db,
        w,
        answer=Answer.YES,
        debts=[debt(), debt(reference="L-2", kind="card")],
        source="form",
        actor=Actor("user", "x"),
    )
    assert w.status == InquiryStatus.ANSWERED and w.answered_at is not None
    stored = db.scalars(select(Debt).where(Debt.inquiry_id == w.id)).all()
    assert [d.capital_ore for d in stored] == [1234550, 1234550]
    assert {d.source for d in stored} == {DebtSource.FORM}
    db.commit()
    token = db.execute(text("SELECT reference FROM debts")).scalars().first()
    assert crypto.token_key_id(token) == case.data_key_id
    with pytest.raises(NotAllowed):
        answers.answer(db, w, answer=Answer.NO, debts=[], source="form", actor=Actor("user", "x"))
    report = inquiries.report(db, case)
    assert (report.answered, report.total, report.percent) == (1, 1, 100)


def test_nothing_new_is_stored_after_revocation(db, setup):
    counsellor, case, web, *_ = setup
    [w] = inquiries.send_inquiries(db, counsellor, case, [web.id])
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    assert w.status == InquiryStatus.CANCELLED
    with pytest.raises(NotAllowed):
        answers.answer(
            db, w, answer=Answer.YES, debts=[debt()], source="api", actor=Actor("api", "k")
        )
    with pytest.raises(NotAllowed):
        answers.add_manual_debt(db, case, debt(), by_user=counsellor)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "boat"}, "debts[0].kind", "Okänd skuldtyp"),
        ({"capital": "tolv"}, "debts[0].capital", "inget belopp"),
        ({"capital": "-5"}, "debts[0].capital", "negativt"),
        ({"capital": ""}, "debts[0].capital", "Ange ett belopp"),
        ({"status": "x"}, "debts[0].status", "Okänd status"),
        ({"capital_ore": 12.5}, "debts[0].capital_ore", "heltal"),
    ],
)
def test_debt_input_errors_name_the_field(data, field, message):
    with pytest.raises(FieldError) as err:
        answers.parse_debt(
            {"kind": "loan", "capital": "100", **data}, prefix="debts[0].", creditor_name="X"
        )
    assert err.value.field == field and message in err.value.message


def test_manual_debts_by_counsellor_and_client(db, setup):
    counsellor, case, *_ = setup
    mine = answers.add_manual_debt(db, case, debt(), by_user=counsellor)
    theirs = answers.add_manual_debt(db, case, debt(reference="brev"), by_person_id=case.person_id)
    assert mine.confirmed_at is not None and mine.source == DebtSource.MANUAL
    assert theirs.confirmed_at is None and theirs.source == DebtSource.CLIENT
    answers.confirm_debt(db, counsellor, theirs)
    assert theirs.confirmed_by == counsellor.id


def test_creditor_sees_only_inquiries_addressed_to_it(db, setup, factories):
    from shared.core import db as dbmod

    counsellor, case, web, api, _ = setup
    inquiries.send_inquiries(db, counsellor, case, [web.id, api.id])
    db.commit()
    with dbmod.tenant(web.organisation_id):
        own = creditor_inbox.directory_ids(db, web.organisation_id)
        inbox = creditor_inbox.inquiries_for_creditor(db, own)
        assert [i.creditor_id for i in inbox] == [web.id]
        assert inbox[0].case.person.name == "Erik Andersson"  # visible for verification
    other = factories.org(OrgKind.CREDITOR)
    db.commit()
    with dbmod.tenant(other.id):
        assert creditor_inbox.directory_ids(db, other.id) == []
        assert creditor_inbox.inquiries_for_creditor(db, []) == []
        from shared.counselling.models import Case, Inquiry

        assert db.scalars(select(Inquiry)).all() == []
        assert db.scalars(select(Case)).all() == []


def test_revocation_is_told_to_the_creditors_that_have_the_fullmakt(db, setup):
    from shared.core import jobs

    counsellor, case, web, _api, manual = setup
    inquiries.send_inquiries(db, counsellor, case, [web.id, manual.id])
    db.commit()
    jobs.after_commit(db)  # delivered (the worker's part, in-process)
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    db.commit()
    jobs.after_commit(db)  # the fan-out of fullmakt.revoked
    db.expire_all()
    told = db.scalars(select(EmailMessage).where(EmailMessage.kind == "fullmakt.revoked")).all()
    # The unanswered inquiry can never be answered now; the post creditor has no address.
    assert [m.to for m in told] == ["inkorg@example.se"]
    assert case.fullmakt.code in told[0].body and "Erik" not in told[0].body


def test_purge_removes_every_sign_order_of_the_case(db, setup):
    from shared.core import clock
    from shared.identity.models import BankIdOrder

    _counsellor, case, *_ = setup
    failed = BankIdOrder(
        portal="client",
        kind="sign",
        order_ref="failed-1",
        auto_start_token="a",
        qr_start_token="q",
        qr_start_secret="s",
        session_binding="b",
        started_at=clock.wall_now(),
        status="failed",
        purpose={"type": "fullmakt", "fullmakt_id": str(case.fullmakt.id)},
    )
    db.add(failed)
    db.flush()
    purge_case(db, case, "test")
    db.flush()
    assert db.scalars(select(BankIdOrder)).all() == []
