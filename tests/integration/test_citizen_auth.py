"""The citizen BankID service on a real database, against the simulator."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import select, text

from shared.identity import citizen_auth
from shared.identity.models import Person
from shared.integrations import bankid
from shared.integrations.bankid import BankIdClient
from shared.security.models import AuditEntry
from simulators.bankid import create_app as create_simulator
from simulators.bankid.signature import verify_signature

ERIK = "198403122719"


@pytest.fixture
def sim(wall):
    return create_simulator()


class Counting(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport):
        self.inner, self.paths = inner, []

    def handle_request(self, request):
        self.paths.append(request.url.path.rsplit("/", 1)[1])
        return self.inner.handle_request(request)


@pytest.fixture
def transport(sim):
    return Counting(httpx.WSGITransport(app=sim))


@pytest.fixture
def client(transport):
    with BankIdClient("http://bankid.test/rp/v6.0/", transport=transport) as c:
        yield c


def approve(sim, token: str, personnummer: str = ERIK) -> None:
    tester = sim.test_client()
    page = tester.get(f"/app?autostarttoken={token}").headers["Location"]
    tester.get(page)
    tester.post(page, data={"action": "approve", "personnummer": personnummer})


def start(db, client, binding="b" * 43):
    return citizen_auth.start_login(
        db, client, portal="client", end_user_ip="192.0.2.4", session_binding=binding
    )


def test_poll_collects_at_most_every_two_seconds(db, client, transport, sim, wall):
    order = start(db, client)
    assert citizen_auth.poll(db, client, order).hint_code == "outstandingTransaction"
    wall.advance(1.9)
    citizen_auth.poll(db, client, order)
    assert transport.paths.count("collect") == 1
    approve(sim, order.auto_start_token)
    wall.advance(0.1)
    result = citizen_auth.poll(db, client, order)
    assert transport.paths.count("collect") == 2
    assert result.status == "complete" and result.person.personnummer == ERIK
    # Finished orders are answered from the row.
    wall.advance(5)
    assert citizen_auth.poll(db, client, order).person.id == result.person.id
    assert transport.paths.count("collect") == 2


def test_login_finds_the_person_by_blind_index_and_refreshes_the_name(
    db, client, sim, wall, factories
):
    known = factories.person(ERIK, "Gammalt", "Namn")
    order = start(db, client)
    approve(sim, order.auto_start_token)
    result = citizen_auth.poll(db, client, order)
    assert result.person.id == known.id
    assert (known.given_name, known.surname) == ("Erik", "Andersson")
    assert known.last_login_at is not None
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "person.login")).one()
    assert (entry.actor_type, entry.actor_id) == ("person", str(known.id))
    assert ERIK not in json.dumps(entry.details) and "Erik" not in json.dumps(entry.details)
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "person.created")) is None


def test_sign_keeps_the_completion_as_evidence(db, client, sim, wall):
    text_ = "# Fullmakt\nJag ger *Skövde kommun* fullmakt i 6 månader."
    order = citizen_auth.start_sign(
        db,
        client,
        portal="client",
        end_user_ip="192.0.2.4",
        session_binding="x" * 43,
        user_visible_data=text_,
        purpose={"type": "fullmakt", "id": "42"},
        user_non_visible_data="fullmakt:42",
        personal_number=ERIK,
    )
    assert order.kind == "sign" and order.user_visible_data == text_
    approve(sim, order.auto_start_token)
    result = citizen_auth.poll(db, client, order)
    assert result.status == "complete"
    evidence = json.loads(order.completion)
    assert set(evidence) >= {"user", "device", "signature", "ocspResponse", "bankIdIssueDate"}
    assert evidence["user"]["personalNumber"] == ERIK
    verify_signature(evidence["signature"], sim.extensions["bankid_simulator"]["pki"].ca_cert)
    assert bankid.b64(text_) in base64.b64decode(evidence["signature"]).decode()
    assert order.purpose == {"type": "fullmakt", "id": "42"}
    actions = list(db.scalars(select(AuditEntry.action)))
    assert "person.sign" in actions and "person.login" not in actions


def test_secrets_are_not_stored_in_clear(db, client):
    binding = citizen_auth.new_session_binding()
    order = start(db, client, binding)
    db.flush()
    row = db.execute(
        text("SELECT qr_start_secret, session_binding FROM bankid_orders WHERE order_ref = :r"),
        {"r": order.order_ref},
    ).one()
    assert order.qr_start_secret not in row.qr_start_secret
    assert row.session_binding != binding


def test_orders_belong_to_their_session_and_portal(db, client):
    binding = citizen_auth.new_session_binding()
    order = start(db, client, binding)
    find = citizen_auth.order_for_session
    assert find(db, order.id, portal="client", session_binding=binding) is order
    assert find(db, order.id, portal="client", session_binding=binding, kind="auth") is order
    assert find(db, order.id, portal="client", session_binding=binding, kind="sign") is None
    assert find(db, order.id, portal="debtor", session_binding=binding) is None
    assert find(db, order.id, portal="client", session_binding=binding + "x") is None
    assert find(db, order.id, portal="client", session_binding=None) is None


def test_qr_counts_whole_seconds_from_the_start(db, client, wall):
    order = start(db, client)
    assert citizen_auth.qr_for(order) == bankid.qr_data(
        order.qr_start_token, order.qr_start_secret, 0
    )
    wall.advance(7.6)
    assert citizen_auth.qr_for(order).split(".")[2] == "7"


def test_cancel_stops_the_order_here_and_at_bankid(db, client, wall):
    order = start(db, client)
    citizen_auth.cancel(db, client, order)
    assert (order.status, order.hint_code) == ("failed", "userCancel")
    with pytest.raises(bankid.BankIdError):
        client.collect(order.order_ref)
    result = citizen_auth.poll(db, client, order)
    assert result.message() == bankid.RFA6


def test_failures_from_bankid(db, client, sim, wall):
    order = start(db, client)
    tester = sim.test_client()
    page = tester.get(f"/app?autostarttoken={order.auto_start_token}").headers["Location"]
    tester.post(page, data={"action": "cancel"})
    result = citizen_auth.poll(db, client, order)
    assert (result.status, result.hint_code, result.message()) == (
        "failed",
        "userCancel",
        bankid.RFA6,
    )


def answering(status: int, body: dict) -> BankIdClient:
    return BankIdClient(
        "http://bankid.test/rp/v6.0/",
        transport=httpx.MockTransport(lambda request: httpx.Response(status, json=body)),
    )


def test_errors_on_collect(db, client, wall):
    order = start(db, client)
    down = answering(503, {"errorCode": "maintenance", "details": ""})
    assert citizen_auth.poll(db, down, order).status == "pending"  # tried again later
    wall.advance(2)
    broken = answering(500, {"errorCode": "internalError", "details": "oops"})
    result = citizen_auth.poll(db, broken, order)
    assert (result.status, result.error_code) == ("failed", "internalError")
    assert result.message() == bankid.RFA5
    # The row remembers why, for a later look without htmx.
    assert citizen_auth.poll(db, client, order).message() == bankid.RFA5


def test_maintenance_that_lasts_ends_the_order(db, client, wall):
    order = start(db, client)
    wall.advance(6 * 60)
    down = answering(503, {"errorCode": "maintenance", "details": ""})
    result = citizen_auth.poll(db, down, order)
    assert (result.status, result.error_code) == ("failed", "maintenance")


def test_a_new_person_is_created_once(db, client, sim, wall):
    order = start(db, client)
    approve(sim, order.auto_start_token, "198810659717")  # a samordningsnummer
    person = citizen_auth.poll(db, client, order).person
    assert person.personnummer == "198810659717" and person.name == "Mohammed Hassan"
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "person.created"))
    again = start(db, client)
    approve(sim, again.auto_start_token, "198810659717")
    wall.advance(2)
    assert citizen_auth.poll(db, client, again).person.id == person.id
    assert len([p for p in db.scalars(select(Person)) if p.personnummer == "198810659717"]) == 1
