"""SPAR PersonSök program-program (interface 2021.1): one person by IdNummer.

A SOAP 1.1 document/literal service; zeep reads the WSDL and the XSDs shipped beside
this module (``wsdl/``, Statens personadressregister's published interface) and builds
and parses every message. The connection is HTTPS with the municipality's client
certificate (PKCS#12, ``SPAR_CERT`` + ``SPAR_CERT_PASSWORD``); the server is checked
against the system CAs or the pinned ``SPAR_CA``.

Whatever goes wrong (timeout, refused connection, TLS, an HTTP error, a SOAP fault, an
``Undantag`` in the answer, an answer that does not fit the XSD) becomes
``RegisterUnavailable`` with a short reason. The log gets that reason only: never the
personnummer, a name or an address.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from shared.integrations.population import RegisterRecord, RegisterUnavailable

log = logging.getLogger(__name__)
# zeep's transport logs whole SOAP envelopes (personnummer, names, addresses) at DEBUG
logging.getLogger("zeep.transports").setLevel(logging.INFO)

WSDL = Path(__file__).resolve().parent / "wsdl" / "personsok.wsdl"
BINDING = "{http://statenspersonadressregister.se/personsok/2021.1}PersonsokServiceSOAP"
JA = "JA"
CURRENT = date(9999, 12, 31)  # DatumTill of the current entry when history is sent


@dataclass(frozen=True)
class SparConfig:
    url: str  # the PersonSök endpoint
    customer_number: int  # KundNrLeveransMottagare: owns the certificate
    end_customer_number: int  # KundNrSlutkund: has the permission (often the same)
    assignment_id: int  # UppdragId, given by SPAR
    cert: str | None = None  # PKCS#12 file
    cert_password: str | None = None
    ca: str | None = None  # PEM bundle to pin the server's CA; None = system CAs
    timeout: float = 10.0


class _ClientCertAdapter(HTTPAdapter):
    """requests with an ``ssl.SSLContext`` of our own (client certificate, pinned CA)."""

    def __init__(self, context: ssl.SSLContext, **kw):
        self._context = context
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["ssl_context"] = self._context
        return super().init_poolmanager(*args, **kw)

    def proxy_manager_for(self, *args, **kw):
        kw["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kw)


def tls_context(config: SparConfig) -> ssl.SSLContext:
    """Server verified (system CAs or ``ca``), client certificate from the PKCS#12 file.
    ``ssl`` loads a key only from a file: the decrypted PEM lives for the moment of
    loading in a private temporary directory (mode 0700) and is removed at once."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        pkcs12,
    )

    context = ssl.create_default_context(cafile=config.ca or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.cert:
        password = config.cert_password.encode() if config.cert_password else None
        key, cert, chain = pkcs12.load_key_and_certificates(
            Path(config.cert).read_bytes(), password
        )
        if key is None or cert is None:
            raise ValueError("SPAR_CERT holds no private key and certificate")
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        pem += cert.public_bytes(Encoding.PEM)
        for extra in chain or ():
            pem += extra.public_bytes(Encoding.PEM)
        with tempfile.TemporaryDirectory(prefix="spar-") as tmp:
            path = os.path.join(tmp, "client.pem")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            context.load_cert_chain(path)
    return context


SOAP_BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"
SOAP_FAULT = "{http://schemas.xmlsoap.org/soap/envelope/}Fault"
ANSWER = "{http://statenspersonadressregister.se/schema/personsok/2021.1/personsokningsvar}SPARPersonsokningSvar"


class _AnswerShape:
    """A zeep plugin: the body must hold SPAR's answer (or a fault). zeep alone reads an
    envelope with some other element as an empty answer, which would say "no such
    person" where the truth is "that was not SPAR"."""

    def ingress(self, envelope, http_headers, operation):
        body = envelope.find(SOAP_BODY)
        tags = [child.tag for child in body] if body is not None else []
        if tags not in ([ANSWER], [SOAP_FAULT]):
            raise ValueError("not a SPARPersonsokningSvar")
        return envelope, http_headers

    def egress(self, envelope, http_headers, operation, binding_options):
        return envelope, http_headers


class SparRegister:
    """``PopulationRegister`` over SPAR PersonSök."""

    def __init__(self, config: SparConfig):
        from zeep import Client, Settings
        from zeep.transports import Transport

        self.config = config
        session = requests.Session()
        if config.url.startswith("https:"):
            session.mount("https://", _ClientCertAdapter(tls_context(config)))
        transport = Transport(
            session=session, timeout=config.timeout, operation_timeout=config.timeout
        )
        # strict: an answer that does not fit the XSD is an error, not a guess
        self._client = Client(
            str(WSDL),
            transport=transport,
            settings=Settings(strict=True, xml_huge_tree=False),
            plugins=[_AnswerShape()],
        )
        self._service = self._client.create_service(BINDING, config.url)

    def lookup(self, personnummer: str, *, end_user: str) -> RegisterRecord | None:
        from zeep import exceptions as zeep_errors

        try:
            answer = self._service.PersonSok(
                Identifieringsinformation={
                    "KundNrLeveransMottagare": self.config.customer_number,
                    "KundNrSlutkund": self.config.end_customer_number,
                    "UppdragId": self.config.assignment_id,
                    "SlutAnvandarId": end_user[:256] or "skuldkoll",
                },
                PersonsokningFraga={"IdNummer": personnummer},
            )
        except requests.Timeout:
            raise self._unavailable("timeout") from None
        except requests.exceptions.SSLError:
            raise self._unavailable("tls") from None
        except requests.ConnectionError:
            raise self._unavailable("connection") from None
        except zeep_errors.Fault as exc:
            raise self._unavailable("soap_fault", code=exc.code) from None
        except zeep_errors.TransportError as exc:
            raise self._unavailable("http_status", code=exc.status_code) from None
        except (zeep_errors.Error, ValueError, TypeError, LookupError) as exc:
            # XMLSyntaxError, XMLParseError, ValidationError, ...: not SPAR's interface
            raise self._unavailable("malformed_answer", code=type(exc).__name__) from None
        return self._record(answer, personnummer)

    def _unavailable(self, reason: str, code: object = None) -> RegisterUnavailable:
        # the reason and a code of the protocol, never a value from the question or answer
        log.warning("SPAR PersonSök unavailable: %s%s", reason, f" ({code})" if code else "")
        return RegisterUnavailable(reason)

    def _record(self, answer, personnummer: str) -> RegisterRecord | None:
        if answer is None:
            raise self._unavailable("malformed_answer", code="empty")
        if getattr(answer, "Undantag", None) is not None:
            raise self._unavailable("undantag", code=_text(answer.Undantag.Kod))
        if getattr(answer, "OverstigerMaxAntalSvarsposter", None) is not None:
            raise self._unavailable("too_many_answers")
        posts = [
            p
            for p in (answer.PersonsokningSvarspost or [])
            if p.PersonId is not None and p.PersonId.IdNummer == personnummer
        ]
        if not posts:
            return None  # no such person in folkbokföringen
        return record_from_post(posts[0], personnummer)


def _text(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "_value_1"):  # simpleContent with attributes (Sekretessmarkering)
        value = value._value_1
    text = str(value).strip()
    return text or None


def _current(entries):
    """The entry in force: SPAR sends history with DatumFrom/DatumTill (9999-12-31 marks
    the current one); without them an entry is current."""
    entries = list(entries or [])
    for entry in entries:
        until = getattr(entry, "DatumTill", None)
        if until is None or until == CURRENT:
            return entry
    return entries[-1] if entries else None


def record_from_post(post, personnummer: str) -> RegisterRecord:
    """A ``PersonsokningSvarspost`` (AviseringPostTYPE) as our record. Protected identity
    (Sekretessmarkering or SkyddadFolkbokforing JA) keeps no address, whatever was sent."""
    protected = _text(post.Sekretessmarkering) == JA or _text(post.SkyddadFolkbokforing) == JA
    name = _current(post.Namn)
    given = _text(getattr(name, "Fornamn", None))
    surname = " ".join(
        t
        for t in (_text(getattr(name, "Mellannamn", None)), _text(getattr(name, "Efternamn", None)))
        if t
    )
    if not given or not surname:
        raise RegisterUnavailable("malformed_answer")
    street = postcode = city = None
    address = _current(post.Folkbokforingsadress)
    if address is not None and not protected:
        swedish = address.SvenskAdress
        parts = [
            _text(getattr(swedish, "CareOf", None)),
            _text(getattr(swedish, "Utdelningsadress1", None)),
            _text(getattr(swedish, "Utdelningsadress2", None)),
        ]
        if parts[0]:
            parts[0] = f"c/o {parts[0]}"
        street = ", ".join(p for p in parts if p) or None
        raw_postcode = _text(getattr(swedish, "PostNr", None))
        postcode = f"{raw_postcode[:3]} {raw_postcode[3:]}" if raw_postcode else None
        city = _text(getattr(swedish, "Postort", None))
    return RegisterRecord(personnummer, given, surname, street, postcode, city, protected)
