"""The BankID simulator driven through the real RP client (httpx.WSGITransport), and its
test app driven like a tester would (Flask test client)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.x509 import ocsp

from shared.integrations.bankid import BankIdClient, BankIdError, qr_data
from shared.integrations.test_persons import load_test_persons
from simulators.bankid import create_app
from simulators.bankid.signature import SignatureInvalid, verify_signature

ERIK = "198403122719"
ANNA = "199105273420"


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def fake_clock():
    return FakeClock()


@pytest.fixture
def sim(fake_clock):
    return create_app(order_ttl_seconds=180, clock=fake_clock)


@pytest.fixture
def rp(sim):
    with BankIdClient(
        "http://bankid.test/rp/v6.0/", transport=httpx.WSGITransport(app=sim)
    ) as client:
        yield client


@pytest.fixture
def raw(sim):
    with httpx.Client(
        base_url="http://bankid.test/rp/v6.0/", transport=httpx.WSGITransport(app=sim)
    ) as client:
        yield client


@pytest.fixture
def tester(sim):
    return sim.test_client()


def open_by_autostart(tester, token: str) -> str:
    r = tester.get(f"/app?autostarttoken={token}")
    assert r.status_code == 303
    return r.headers["Location"]


def approve(tester, page: str, personnummer: str = ERIK):
    r = tester.post(page, data={"action": "approve", "personnummer": personnummer})
    assert r.status_code == 303
    return r


def test_auth_collect_approve_complete(sim, rp, tester, fake_clock):
    order = rp.auth("192.0.2.10")
    assert all(
        (order.order_ref, order.auto_start_token, order.qr_start_token, order.qr_start_secret)
    )
    first = rp.collect(order.order_ref)
    assert (first.status, first.hint_code, first.completion_data) == (
        "pending",
        "outstandingTransaction",
        None,
    )

    page = open_by_autostart(tester, order.auto_start_token)
    assert rp.collect(order.order_ref).hint_code == "started"
    html = tester.get(page).get_data(as_text=True)
    assert "Legitimera" in html and "Avbryt" in html
    assert all(p.name in html for p in load_test_persons())
    assert rp.collect(order.order_ref).hint_code == "userSign"

    approve(tester, page)
    done = rp.collect(order.order_ref)
    assert done.status == "complete" and done.hint_code is None
    data = done.completion_data
    assert data["user"] == {
        "personalNumber": ERIK,
        "name": "Erik Andersson",
        "givenName": "Erik",
        "surname": "Andersson",
    }
    assert data["device"]["ipAddress"] == "127.0.0.1" and data["device"]["uhi"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["bankIdIssueDate"])
    assert data["stepUp"] == {"mrtd": False}
    ca = sim.extensions["bankid_simulator"]["pki"].ca_cert
    signer = verify_signature(data["signature"], ca)
    assert ERIK in signer.subject.rfc4514_string()
    document = base64.b64decode(data["signature"]).decode()
    assert "<funcId>Identification</funcId>" in document
    response = ocsp.load_der_ocsp_response(base64.b64decode(data["ocspResponse"]))
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == signer.serial_number

    # Collectable for three minutes after completion, then gone.
    fake_clock.advance(170)
    assert rp.collect(order.order_ref).status == "complete"
    fake_clock.advance(20)
    with pytest.raises(BankIdError) as gone:
        rp.collect(order.order_ref)
    assert (gone.value.error_code, gone.value.http_status) == ("invalidParameters", 400)


def test_a_tampered_signature_does_not_verify(sim, rp, tester):
    order = rp.auth("192.0.2.10")
    approve(tester, open_by_autostart(tester, order.auto_start_token))
    signature = rp.collect(order.order_ref).completion_data["signature"]
    document = base64.b64decode(signature).decode()
    forged = document.replace("<funcId>Identification", "<funcId>Signing")
    with pytest.raises(SignatureInvalid):
        verify_signature(base64.b64encode(forged.encode()).decode())


def test_sign_requires_user_visible_data(raw):
    missing = raw.post("sign", json={"endUserIp": "192.0.2.1"})
    assert missing.status_code == 400
    assert missing.json() == {
        "errorCode": "invalidParameters",
        "details": "Missing userVisibleData",
    }
    not_base64 = raw.post(
        "sign", json={"endUserIp": "192.0.2.1", "userVisibleData": "inte base64!"}
    )
    assert not_base64.status_code == 400
    assert not_base64.json()["errorCode"] == "invalidParameters"
    too_long = raw.post(
        "sign",
        json={"endUserIp": "192.0.2.1", "userVisibleData": base64.b64encode(b"x" * 1200).decode()},
    )
    assert too_long.json()["errorCode"] == "invalidParameters"


def test_sign_shows_the_text_and_signs_it(sim, rp, tester):
    text = "# Fullmakt\nJag ger *Skövde kommun* fullmakt. <script>alert(1)</script>"
    order = rp.sign("192.0.2.10", text, user_non_visible_data="fullmakt=42")
    page = open_by_autostart(tester, order.auto_start_token)
    html = tester.get(page).get_data(as_text=True)
    assert "Skriv under" in html
    assert "Jag ger *Skövde kommun* fullmakt." in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    approve(tester, page, ANNA)
    data = rp.collect(order.order_ref).completion_data
    assert data["user"]["personalNumber"] == ANNA
    verify_signature(data["signature"], sim.extensions["bankid_simulator"]["pki"].ca_cert)
    document = base64.b64decode(data["signature"]).decode()
    assert base64.b64encode(text.encode()).decode() in document
    assert base64.b64encode(b"fullmakt=42").decode() in document
    assert "<funcId>Signing</funcId>" in document


def test_requirement_personal_number_limits_the_test_persons(rp, tester):
    order = rp.auth("192.0.2.10", requirement={"personalNumber": ANNA})
    page = open_by_autostart(tester, order.auto_start_token)
    html = tester.get(page).get_data(as_text=True)
    assert "Anna Johansson" in html and "Erik Andersson" not in html
    refused = tester.post(page, data={"action": "approve", "personnummer": ERIK})
    assert refused.status_code == 422
    assert rp.collect(order.order_ref).status == "pending"
    approve(tester, page, ANNA)
    assert rp.collect(order.order_ref).completion_data["user"]["personalNumber"] == ANNA


def test_already_in_progress_for_the_same_personal_number(rp):
    first = rp.auth("192.0.2.10", requirement={"personalNumber": ERIK})
    other = rp.auth("192.0.2.10", requirement={"personalNumber": ANNA})
    with pytest.raises(BankIdError) as caught:
        rp.sign("192.0.2.11", "Skriv under", requirement={"personalNumber": ERIK})
    assert (caught.value.error_code, caught.value.http_status) == ("alreadyInProgress", 400)
    # As BankID does: the order already in progress is aborted too.
    aborted = rp.collect(first.order_ref)
    assert (aborted.status, aborted.hint_code) == ("failed", "cancelled")
    assert rp.collect(other.order_ref).status == "pending"
    # Afterwards a new order for the person can start.
    assert rp.auth("192.0.2.10", requirement={"personalNumber": ERIK}).order_ref


def test_rp_cancel_removes_the_order(rp, tester):
    order = rp.auth("192.0.2.10")
    rp.cancel(order.order_ref)
    with pytest.raises(BankIdError) as caught:
        rp.collect(order.order_ref)
    assert caught.value.error_code == "invalidParameters"
    assert tester.get(f"/app?autostarttoken={order.auto_start_token}").status_code == 404
    with pytest.raises(BankIdError):
        rp.cancel(order.order_ref)


def test_tester_cancels(rp, tester, fake_clock):
    order = rp.auth("192.0.2.10")
    page = open_by_autostart(tester, order.auto_start_token)
    tester.get(page)
    r = tester.post(page, data={"action": "cancel"})
    assert r.status_code == 303
    assert "Du avbröt" in tester.get(page).get_data(as_text=True)
    result = rp.collect(order.order_ref)
    assert (result.status, result.hint_code) == ("failed", "userCancel")
    # Failed orders stay collectable for five minutes.
    fake_clock.advance(299)
    assert rp.collect(order.order_ref).status == "failed"
    fake_clock.advance(2)
    with pytest.raises(BankIdError):
        rp.collect(order.order_ref)


def test_orders_expire(rp, tester, fake_clock):
    order = rp.auth("192.0.2.10")
    fake_clock.advance(179)
    assert rp.collect(order.order_ref).status == "pending"
    fake_clock.advance(1)
    expired = rp.collect(order.order_ref)
    assert (expired.status, expired.hint_code) == ("failed", "expiredTransaction")
    assert tester.get(f"/app?autostarttoken={order.auto_start_token}").status_code == 404


def test_an_opened_order_expires_too(rp, tester, fake_clock):
    order = rp.auth("192.0.2.10")
    page = open_by_autostart(tester, order.auto_start_token)
    tester.get(page)
    fake_clock.advance(181)
    approve(tester, page)  # too late: the app shows the failure instead
    assert "Tiden gick ut" in tester.get(page).get_data(as_text=True)
    assert rp.collect(order.order_ref).hint_code == "expiredTransaction"


def test_qr_payload_opens_the_order(rp, tester, fake_clock):
    order = rp.auth("192.0.2.10")
    fake_clock.advance(12)
    payload = qr_data(order.qr_start_token, order.qr_start_secret, 12)
    r = tester.post("/app/qr", data={"qr": payload})
    assert r.status_code == 303
    assert rp.collect(order.order_ref).hint_code == "started"
    approve(tester, r.headers["Location"])
    assert rp.collect(order.order_ref).status == "complete"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("hej", "ingen BankID-QR-kod"),
        ("bankid.{token}.3.{forged}", "kontrollsumman"),
        ("bankid.00000000-0000-0000-0000-000000000000.3.{good3}", "hör inte till"),
        ("{stale}", "för gammal"),
        ("{future}", "för gammal"),
    ],
)
def test_qr_payload_is_verified(rp, tester, fake_clock, payload, message):
    order = rp.auth("192.0.2.10")
    fake_clock.advance(40)
    values = {
        "token": order.qr_start_token,
        "forged": "0" * 64,
        "good3": qr_data(order.qr_start_token, order.qr_start_secret, 3).split(".")[3],
        "stale": qr_data(order.qr_start_token, order.qr_start_secret, 5),
        "future": qr_data(order.qr_start_token, order.qr_start_secret, 60),
    }
    r = tester.post("/app/qr", data={"qr": payload.format(**values)})
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert rp.collect(order.order_ref).hint_code == "outstandingTransaction"


def test_test_app_lists_pending_orders_newest_first(rp, tester, fake_clock):
    rp.auth("192.0.2.10")
    fake_clock.advance(61)
    rp.sign("192.0.2.10", "Skriv under")
    html = tester.get("/app").get_data(as_text=True)
    assert html.index("Underskrift") < html.index("Legitimering")
    assert "10:01:01" in html and "10:00:00" in html  # Stockholm time
    assert "<script" not in html


def test_protocol_errors(raw):
    r = raw.get("auth")
    assert (r.status_code, r.json()["errorCode"]) == (405, "methodNotAllowed")
    r = raw.post(
        "auth", content=b'{"endUserIp": "192.0.2.1"}', headers={"Content-Type": "text/plain"}
    )
    assert (r.status_code, r.json()["errorCode"]) == (415, "unsupportedMediaType")
    r = raw.post("phone/fax", json={})
    assert (r.status_code, r.json()["errorCode"]) == (404, "notFound")
    r = raw.post("auth", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["errorCode"]) == (400, "invalidParameters")
    for body in ({}, {"endUserIp": "999.1.1.1"}, {"endUserIp": 17}):
        r = raw.post("auth", json=body)
        assert r.status_code == 400
        assert r.json() == {"errorCode": "invalidParameters", "details": "Incorrect endUserIp"}
    r = raw.post("auth", json={"endUserIp": "::1", "requirement": {"personalNumber": "123"}})
    assert r.json()["errorCode"] == "invalidParameters"
    r = raw.post("collect", json={})
    assert r.json()["errorCode"] == "invalidParameters"
    r = raw.post("auth", json={"endUserIp": "2001:db8::1"})
    assert r.status_code == 200 and set(r.json()) == {
        "orderRef",
        "autoStartToken",
        "qrStartToken",
        "qrStartSecret",
    }
