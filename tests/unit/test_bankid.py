"""BankID RP client: animated QR data, user messages (RFA) and error parsing."""

from __future__ import annotations

import base64
import json
import ssl
from datetime import date

import httpx
import pytest

from shared.core.config import Settings
from shared.identity.rules import parse_personnummer
from shared.integrations import bankid
from shared.integrations.bankid import BankIdClient, BankIdError, qr_data, user_message
from shared.integrations.test_persons import find, load_test_persons

AGES_ON = date(2026, 11, 24)  # the test population's ages (20-85) hold on this day

# The worked example in BankID's RP documentation for the animated QR code.
TOKEN = "67df3917-fa0d-44e5-b327-edcc928297f8"
SECRET = "d28db9a7-4cde-429e-a983-359be676944c"


@pytest.mark.parametrize(
    ("t", "code"),
    [
        (0, "dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"),
        (1, "949d559bf23403952a94d103e67743126381eda00f0b3cbddbf7c96b1adcbce2"),
        (2, "a9e5ec59cb4eee4ef4117150abc58fad7a85439a6a96ccbecc3668b41795b3f3"),
    ],
)
def test_qr_data_matches_bankids_example(t, code):
    assert qr_data(TOKEN, SECRET, t) == f"bankid.{TOKEN}.{t}.{code}"


def test_qr_data_uses_whole_seconds():
    assert qr_data(TOKEN, SECRET, 7) == qr_data(TOKEN, SECRET, 7.9)
    assert qr_data(TOKEN, SECRET, 7).split(".")[2] == "7"


@pytest.mark.parametrize(
    ("status", "hint", "autostarted", "expected"),
    [
        ("pending", "outstandingTransaction", False, bankid.RFA1),
        ("pending", "outstandingTransaction", True, bankid.RFA13),
        ("pending", "noClient", False, bankid.RFA1),
        ("pending", "started", False, bankid.RFA14),
        ("pending", "userSign", False, bankid.RFA9),
        ("pending", "userMrtd", False, bankid.RFA23),
        ("pending", "somethingNew", False, bankid.RFA21),
        ("pending", None, False, bankid.RFA21),
        ("failed", "expiredTransaction", False, bankid.RFA8),
        ("failed", "certificateErr", False, bankid.RFA16),
        ("failed", "userCancel", False, bankid.RFA6),
        ("failed", "cancelled", False, bankid.RFA3),
        ("failed", "startFailed", False, bankid.RFA17),
        ("failed", "transactionRiskBlocked", False, bankid.RFA22),
        ("failed", "somethingNew", False, bankid.RFA22),
        ("complete", None, False, ""),
    ],
)
def test_user_message_for_hints(status, hint, autostarted, expected):
    assert user_message(status, hint, autostarted=autostarted) == expected


def test_user_message_texts_are_bankids():
    assert user_message("pending", "outstandingTransaction") == "Starta BankID-appen."
    assert user_message("pending", "userSign") == (
        "Skriv in din säkerhetskod i BankID-appen och välj Legitimera eller Skriv under."
    )
    assert user_message("failed", "userCancel") == "Åtgärden avbruten."
    assert user_message("pending", "started").startswith(
        "Söker efter BankID, det kan ta en liten stund…"
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("alreadyInProgress", bankid.RFA4),
        ("internalError", bankid.RFA5),
        ("maintenance", bankid.RFA5),
        ("requestTimeout", bankid.RFA5),
        ("invalidParameters", bankid.RFA22),
        ("unauthorized", bankid.RFA22),
    ],
)
def test_user_message_for_error_codes(code, expected):
    assert user_message("failed", None, error_code=code) == expected


def recording_transport(status: int, answer: dict | str, seen: list) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, str):
            return httpx.Response(status, text=answer)
        return httpx.Response(status, json=answer)

    return httpx.MockTransport(handler)


def test_auth_posts_v6_fields_and_parses_the_answer():
    seen: list[httpx.Request] = []
    answer = {"orderRef": "o", "autoStartToken": "a", "qrStartToken": "q", "qrStartSecret": "s"}
    client = BankIdClient(
        "https://bankid.test/rp/v6.0", transport=recording_transport(200, answer, seen)
    )
    order = client.auth(
        "192.0.2.7",
        user_visible_data="Logga in på *Skuldkoll*",
        requirement={"personalNumber": "198403122719"},
    )
    assert order == bankid.OrderResponse("o", "a", "q", "s")
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == "https://bankid.test/rp/v6.0/auth"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body == {
        "endUserIp": "192.0.2.7",
        "requirement": {"personalNumber": "198403122719"},
        "userVisibleData": base64.b64encode("Logga in på *Skuldkoll*".encode()).decode(),
        "userVisibleDataFormat": "simpleMarkdownV1",
    }


def test_sign_encodes_visible_and_non_visible_data():
    seen: list[httpx.Request] = []
    answer = {"orderRef": "o", "autoStartToken": "a", "qrStartToken": "q", "qrStartSecret": "s"}
    client = BankIdClient(
        "https://bankid.test/rp/v6.0/", transport=recording_transport(200, answer, seen)
    )
    client.sign("::1", "Jag ger fullmakt åt *Skövde kommun*", user_non_visible_data="id=42")
    body = json.loads(seen[0].content)
    assert str(seen[0].url).endswith("/rp/v6.0/sign")
    assert base64.b64decode(body["userVisibleData"]).decode() == (
        "Jag ger fullmakt åt *Skövde kommun*"
    )
    assert base64.b64decode(body["userNonVisibleData"]) == b"id=42"
    assert body["userVisibleDataFormat"] == "simpleMarkdownV1"


def test_collect_parses_pending_and_complete():
    pending = BankIdClient(
        "https://b/",
        transport=recording_transport(
            200, {"orderRef": "o", "status": "pending", "hintCode": "userSign"}, []
        ),
    )
    assert pending.collect("o") == bankid.CollectResponse("o", "pending", "userSign", None)
    data = {"user": {"personalNumber": "198403122719"}}
    complete = BankIdClient(
        "https://b/",
        transport=recording_transport(
            200, {"orderRef": "o", "status": "complete", "completionData": data}, []
        ),
    )
    assert complete.collect("o").completion_data == data


@pytest.mark.parametrize(
    ("status", "body", "code", "details"),
    [
        (
            400,
            {"errorCode": "alreadyInProgress", "details": "Order already in progress for pno"},
            "alreadyInProgress",
            "Order already in progress for pno",
        ),
        (
            400,
            {"errorCode": "invalidParameters", "details": "No such order"},
            "invalidParameters",
            "No such order",
        ),
        (
            401,
            {"errorCode": "unauthorized", "details": "RP does not have access"},
            "unauthorized",
            "RP does not have access",
        ),
        (500, {"errorCode": "internalError", "details": ""}, "internalError", ""),
        (503, "<html>Service Unavailable</html>", "maintenance", "HTTP 503 without an error body"),
        (502, "Bad gateway", "internalError", "HTTP 502 without an error body"),
        (404, "not here", "notFound", "HTTP 404 without an error body"),
    ],
)
def test_error_answers_become_bankid_errors(status, body, code, details):
    client = BankIdClient("https://b/", transport=recording_transport(status, body, []))
    with pytest.raises(BankIdError) as caught:
        client.collect("o")
    assert caught.value.error_code == code
    assert caught.value.details == details
    assert caught.value.http_status == status


def test_network_errors_are_internal_errors():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    client = BankIdClient("https://b/", transport=httpx.MockTransport(refuse))
    with pytest.raises(BankIdError) as caught:
        client.cancel("o")
    assert caught.value.error_code == "internalError"
    assert caught.value.http_status is None


def test_an_answer_without_required_fields_is_an_internal_error():
    client = BankIdClient("https://b/", transport=recording_transport(200, {"orderRef": "o"}, []))
    with pytest.raises(BankIdError, match="internalError"):
        client.auth("127.0.0.1")
    weird = BankIdClient(
        "https://b/", transport=recording_transport(200, {"orderRef": "o", "status": "done"}, [])
    )
    with pytest.raises(BankIdError, match="internalError"):
        weird.collect("o")


def test_autostart_url():
    assert (
        bankid.autostart_url(
            "T", base_url="http://127.0.0.1:5000/bankid-sim/rp/v6.0/", simulated=True
        )
        == "/bankid-sim/app?autostarttoken=T"
    )
    assert (
        bankid.autostart_url("T", base_url="https://appapi2.bankid.com/rp/v6.0/", simulated=False)
        == "bankid:///?autostarttoken=T&redirect=null"
    )


def test_client_from_settings_uses_the_simulator_by_default():
    settings = Settings(env="test")
    client = bankid.client_from_settings(settings)
    assert client.base_url == "http://127.0.0.1:5000/bankid-sim/rp/v6.0/"
    real = bankid.client_from_settings(
        Settings(env="test", bankid_url="https://appapi2.test.bankid.com/rp/v6.0/"),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})),
    )
    assert real.base_url == "https://appapi2.test.bankid.com/rp/v6.0/"


def test_mutual_tls_context_pins_the_ca_and_presents_our_certificate(tmp_path):
    from cryptography.hazmat.primitives import serialization

    from tests.factories.certificates import self_signed

    key, cert = self_signed("FP Testcert", ca=True)
    cert_file, key_file = tmp_path / "rp.crt", tmp_path / "rp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = bankid._ssl_context((str(cert_file), str(key_file)), str(cert_file))
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "FP Testcert"),),)]
    settings = Settings(
        env="test",
        bankid_url="https://appapi2.test.bankid.com/rp/v6.0/",
        bankid_cert=str(cert_file),
        bankid_key=str(key_file),
        bankid_ca=str(cert_file),
    )
    with bankid.client_from_settings(settings) as client:
        assert client.base_url == "https://appapi2.test.bankid.com/rp/v6.0/"


def test_test_population_is_valid_and_flagged():
    persons = load_test_persons()
    assert len(persons) == 17 and all(p.test for p in persons)
    assert [p.name for p in persons if p.protected] == ["Nora Ek"]  # skyddad identitet
    numbers = [parse_personnummer(p.personnummer, AGES_ON) for p in persons]
    assert len({n.digits for n in numbers}) == 17
    assert any(n.coordination for n in numbers)
    assert {n.gender for n in numbers} == {"M", "F"}
    for n in numbers:
        age = (AGES_ON - n.birth_date).days // 365
        assert 20 <= age <= 85
    assert len({p.city for p in persons}) >= 10
    first = persons[0]
    assert find(f"{first.personnummer[:8]}-{first.personnummer[8:]}") == first
    assert find("190001010000") is None
