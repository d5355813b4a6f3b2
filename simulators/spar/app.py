"""A local stand-in for SPAR PersonSök program-program (interface 2021.1).

* ``GET /personsok?wsdl``: the same WSDL Skuldkoll's adapter reads, with the service
  address pointing here; ``GET /granssnitt/...xsd`` and ``/komponent/...xsd``: its XSDs.
* ``POST /personsok``: a ``SPARPersonsokningFraga`` by IdNummer, answered from the test
  population (``shared/integrations/data/test_persons.json``) with a
  ``SPARPersonsokningSvar``: one ``PersonsokningSvarspost`` (names, Persondetaljer,
  Folkbokforingsadress/SvenskAdress), none when nobody has the number. A person with
  skyddad identitet is answered with Sekretessmarkering and SkyddadFolkbokforing JA and
  no address at all.
* A request that is not SOAP, does not fit the XSD, or carries another customer
  number or assignment id than the stand-in's gets a SOAP 1.1 Fault (HTTP 500), as SPAR
  answers.

zeep builds and reads the messages from the WSDL (the adapter's own), so the stand-in
and the adapter speak exactly the published interface. Plain HTTP, no client
certificate: in demo mode ``wsgi.py`` mounts it at ``/spar-sim``; never in production.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from functools import cache

from flask import Flask, Response, abort, request, send_from_directory
from lxml import etree

from shared.integrations import test_persons
from shared.integrations.spar.client import BINDING, CURRENT, WSDL

DEMO_CUSTOMER_NUMBER = 500243  # KundNrLeveransMottagare / KundNrSlutkund of the demo
DEMO_ASSIGNMENT_ID = 637  # UppdragId of the demo
SINCE = date(2019, 12, 2)  # DatumFrom of every stand-in entry
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
MAX_REQUEST = 64 * 1024
XML_TYPES = ("text/xml", "application/soap+xml")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@cache
def _operation():
    from zeep import Client

    client = Client(str(WSDL))
    return client.wsdl.bindings[BINDING].get("PersonSok")


class Refused(Exception):  # noqa: N818 - answered as a SOAP Fault
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def create_app(
    *,
    customer_number: int = DEMO_CUSTOMER_NUMBER,
    assignment_id: int = DEMO_ASSIGNMENT_ID,
    delay: float = 0.0,
) -> Flask:
    """``delay``: seconds to wait before answering (tests of the adapter's timeout)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    folder = WSDL.parent

    @app.get("/personsok")
    def wsdl():
        tree = etree.parse(str(WSDL), PARSER)
        for address in tree.iter(f"{{{WSDL_NS}}}address"):
            address.set("location", request.base_url)
        return Response(
            etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), mimetype="text/xml"
        )

    @app.get("/<path:name>")
    def schema(name: str):
        if not name.endswith(".xsd") or not name.startswith(("granssnitt/", "komponent/")):
            abort(404)
        return send_from_directory(folder, name, mimetype="text/xml")

    @app.post("/personsok")
    def personsok():
        if delay:
            time.sleep(delay)
        try:
            question = _read(request.get_data(cache=False), request.mimetype)
            _check_identification(question, customer_number, assignment_id)
            body = _answer(question)
        except Refused as exc:
            return _fault(exc.code, exc.message)
        return Response(body, mimetype="text/xml", headers={"Cache-Control": "no-store"})

    return app


def _read(raw: bytes, mimetype: str):
    if mimetype not in XML_TYPES:
        raise Refused("Client", "Content-Type must be text/xml (SOAP 1.1).")
    try:
        envelope = etree.fromstring(raw, PARSER)
    except etree.XMLSyntaxError:
        raise Refused("Client", "The request is not well-formed XML.") from None
    if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
        raise Refused("Client", "The request is not a SOAP 1.1 envelope.")
    from zeep import exceptions as zeep_errors

    try:
        question = _operation().input.deserialize(envelope)
    except (zeep_errors.Error, ValueError, TypeError, LookupError):
        raise Refused("Client", "The request does not fit PersonsokningFraga.xsd.") from None
    if getattr(question, "PersonsokningFraga", None) is None or not getattr(
        question, "Identifieringsinformation", None
    ):
        raise Refused("Client", "The request does not fit PersonsokningFraga.xsd.")
    return question


def _check_identification(question, customer_number: int, assignment_id: int) -> None:
    ident = question.Identifieringsinformation
    if (
        ident.KundNrLeveransMottagare != customer_number
        or ident.KundNrSlutkund != customer_number
        or ident.UppdragId != assignment_id
    ):
        raise Refused("Client", "Behörighet saknas för kundnummer och uppdrag.")
    if not ident.SlutAnvandarId:
        raise Refused("Client", "SlutAnvandarId saknas.")


def _answer(question) -> bytes:
    number = question.PersonsokningFraga.IdNummer
    if not number:
        raise Refused("Client", "Stand-in answers searches by IdNummer only.")
    person = test_persons.find(number)
    posts = [] if person is None else [_post(person)]
    message = _operation().output.serialize(
        PersonsokningFraga={"IdNummer": number},
        PersonsokningSvarspost=posts,
        UUID=str(uuid.uuid4()),
    )
    return etree.tostring(message.content, xml_declaration=True, encoding="UTF-8")


def _post(person: test_persons.TestPerson) -> dict:
    mark = "JA" if person.protected else "NEJ"
    current = {"DatumFrom": SINCE, "DatumTill": CURRENT}  # history: the entry in force
    post = {
        "PersonId": {"IdNummer": person.personnummer, "Typ": "PERSONNUMMER"},
        "Sekretessmarkering": {"_value_1": mark},
        "SkyddadFolkbokforing": mark,
        "Namn": [current | {"Fornamn": person.given_name, "Efternamn": person.surname}],
        "Persondetaljer": [
            current
            | {
                "Sekretessmarkering": {"_value_1": mark},
                "SkyddadFolkbokforing": mark,
                "Fodelsedatum": _birth_date(person.personnummer),
            }
        ],
    }
    if not person.protected:  # skyddad identitet: SPAR gives no address at all
        post["Folkbokforingsadress"] = [
            {
                "SvenskAdress": current
                | {
                    "Utdelningsadress2": person.street,
                    "PostNr": person.postcode.replace(" ", ""),
                    "Postort": person.city.upper(),
                }
            }
        ]
    return post


def _birth_date(digits: str) -> date:
    day = int(digits[6:8])
    return date(int(digits[:4]), int(digits[4:6]), day - 60 if day > 60 else day)


def _fault(code: str, message: str) -> Response:
    nsmap = {"S": SOAP_ENV}
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"S:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return Response(
        etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"),
        status=500,
        mimetype="text/xml",
    )
