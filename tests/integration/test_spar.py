"""The SPAR PersonSök adapter against the local stand-in, through real SOAP messages
(zeep client -> HTTP -> the stand-in's WSGI server in a thread): found, not found,
protected identity, unreachable, timeout, SOAP fault and malformed answers, and no
personnummer in any log line."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from shared.integrations.population import RegisterUnavailable
from shared.integrations.spar import SparConfig, SparRegister
from simulators.spar import DEMO_ASSIGNMENT_ID, DEMO_CUSTOMER_NUMBER, create_app

ERIK = "198403122719"
PROTECTED = "198907152386"  # Nora Ek, skyddad identitet in the test population
NOBODY = "197903214463"  # a valid personnummer nobody in the test population has


class Served:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/personsok"

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def standin():
    served = Served(create_app())
    yield served.url
    served.stop()


def adapter(url, **kw) -> SparRegister:
    config = {
        "url": url,
        "customer_number": DEMO_CUSTOMER_NUMBER,
        "end_customer_number": DEMO_CUSTOMER_NUMBER,
        "assignment_id": DEMO_ASSIGNMENT_ID,
        "timeout": 2.0,
    } | kw
    return SparRegister(SparConfig(**config))


def test_found_person_has_name_and_address(standin):
    record = adapter(standin).lookup(ERIK, end_user="user-1")
    assert (record.given_name, record.surname) == ("Erik", "Andersson")
    assert (record.street, record.postcode, record.city) == ("Götgatan 48", "118 26", "STOCKHOLM")
    assert record.personnummer == ERIK and not record.protected


def test_nobody_with_the_number_is_none(standin):
    assert adapter(standin).lookup(NOBODY, end_user="user-1") is None


def test_protected_identity_is_flagged_and_has_no_address(standin):
    record = adapter(standin).lookup(PROTECTED, end_user="user-1")
    assert record.protected and record.name == "Nora Ek"
    assert record.street is None and record.postcode is None and record.city is None


def test_the_standin_answer_itself_withholds_a_protected_address(standin):
    from zeep import Client

    client = Client(standin + "?wsdl")  # the WSDL and XSDs as the stand-in serves them
    envelope = client.create_message(
        client.service,
        "PersonSok",
        Identifieringsinformation={
            "KundNrLeveransMottagare": DEMO_CUSTOMER_NUMBER,
            "KundNrSlutkund": DEMO_CUSTOMER_NUMBER,
            "UppdragId": DEMO_ASSIGNMENT_ID,
            "SlutAnvandarId": "user-1",
        },
        PersonsokningFraga={"IdNummer": PROTECTED},
    )
    from lxml import etree

    answer = requests.post(
        standin, data=etree.tostring(envelope), headers={"Content-Type": "text/xml"}, timeout=5
    )
    text = answer.content.decode()
    assert answer.status_code == 200 and "SPARPersonsokningSvar" in text
    assert ">JA</" in text and "Sekretessmarkering" in text
    assert "Skyddsvägen" not in text and "HEMORT" not in text and "Folkbokforingsadress" not in text


def test_connection_refused_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends
    with pytest.raises(RegisterUnavailable) as err:
        adapter(f"http://127.0.0.1:{port}/personsok").lookup(ERIK, end_user="u")
    assert err.value.reason == "connection"


def test_timeout_is_unavailable():
    slow = Served(create_app(delay=1.0))
    try:
        with pytest.raises(RegisterUnavailable) as err:
            adapter(slow.url, timeout=0.2).lookup(ERIK, end_user="u")
        assert err.value.reason == "timeout"
    finally:
        slow.stop()


def test_soap_fault_is_unavailable(standin):
    with pytest.raises(RegisterUnavailable) as err:
        adapter(standin, customer_number=500001).lookup(ERIK, end_user="u")
    assert err.value.reason == "soap_fault"


def _serving(body: bytes, status: int = 200, content_type: str = "text/xml"):
    return Served(
        lambda environ, start: Response(body, status, content_type=content_type)(environ, start)
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<html><body>Service Unavailable</body></html>", 200),  # not SOAP
        (b"not xml at all <", 200),
        (  # SOAP, but not SPAR's answer
            b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
            b"<Other/></S:Body></S:Envelope>",
            200,
        ),
        (b"", 502),
        (b"<html>Bad gateway</html>", 502),
    ],
)
def test_a_malformed_answer_is_unavailable_not_a_crash(body, status):
    bad = _serving(body, status)
    try:
        with pytest.raises(RegisterUnavailable) as err:
            adapter(bad.url).lookup(ERIK, end_user="u")
        assert err.value.reason in {"malformed_answer", "http_status"}
    finally:
        bad.stop()


def test_an_answer_with_undantag_is_unavailable():
    body = (
        b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
        b'<svar:SPARPersonsokningSvar xmlns:svar="http://statenspersonadressregister.se/schema/'
        b'personsok/2021.1/personsokningsvar" xmlns:u="http://statenspersonadressregister.se/'
        b'schema/komponent/sok/undantag-1.0"><u:Undantag><u:Kod>9</u:Kod><u:Beskrivning>Fel'
        b"</u:Beskrivning></u:Undantag></svar:SPARPersonsokningSvar></S:Body></S:Envelope>"
    )
    bad = _serving(body)
    try:
        with pytest.raises(RegisterUnavailable) as err:
            adapter(bad.url).lookup(ERIK, end_user="u")
        assert err.value.reason == "undantag"
    finally:
        bad.stop()


def test_the_standin_refuses_a_malformed_request_with_a_fault(standin):
    for body, ctype in (
        (b"not xml <", "text/xml"),
        (b"<a/>", "text/xml"),
        (
            b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><x/>'
            b"</S:Body></S:Envelope>",
            "text/xml",
        ),
        (b"{}", "application/json"),
    ):
        r = requests.post(standin, data=body, headers={"Content-Type": ctype}, timeout=5)
        assert r.status_code == 500 and b"faultstring" in r.content


def test_the_standin_serves_its_wsdl_with_its_own_address(standin):
    r = requests.get(standin + "?wsdl", timeout=5)
    assert r.status_code == 200 and f'location="{standin}"'.encode() in r.content
    xsd = standin.rsplit("/", 1)[0] + "/granssnitt/personsok/2021.1/PersonsokningFraga.xsd"
    assert requests.get(xsd, timeout=5).status_code == 200
    assert requests.get(standin.rsplit("/", 1)[0] + "/app.py", timeout=5).status_code == 404


def test_no_personnummer_reaches_a_log(standin, caplog):
    caplog.set_level(logging.DEBUG)
    register = adapter(standin)
    register.lookup(ERIK, end_user="u")
    register.lookup(PROTECTED, end_user="u")
    register.lookup(NOBODY, end_user="u")
    with pytest.raises(RegisterUnavailable):
        adapter(standin, customer_number=500001).lookup(ERIK, end_user="u")
    bad = _serving(b"<html/>")
    try:
        with pytest.raises(RegisterUnavailable):
            adapter(bad.url).lookup(ERIK, end_user="u")
    finally:
        bad.stop()
    text = caplog.text
    assert "SPAR PersonSök unavailable" in text  # the failures were logged ...
    for number in (ERIK, PROTECTED, NOBODY, ERIK[2:], "840312-2719"):
        assert number not in text  # ... without the number
    assert "Andersson" not in text and "Götgatan" not in text
