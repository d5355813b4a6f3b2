"""Signatures and OCSP responses for completed simulator orders.

The simulator is its own little PKI: an ephemeral issuing CA made when the app starts,
and an ephemeral user certificate per completed order (subject = the test person, as a
BankID certificate names its holder). The ``signature`` is an XML-DSig document in the
shape BankID returns: a ``bankIdSignedData`` object with the visible and non-visible data,
a SHA-256 digest of it in ``SignedInfo``, and an ECDSA P-256 signature over ``SignedInfo``
by the user key. The ``ocspResponse`` is a real DER OCSP response (status good) for the
user certificate, signed by the CA. Nothing is persisted: a restart makes new keys.

The XML is written in one fixed serialisation, so the bytes that were digested and
signed can be cut out of the document again for verification (``verify_signature``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
BANKID_NS = "http://www.bankid.com/signature/v1.0.0/types"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
P256_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _name(*attrs: tuple) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


@dataclass(frozen=True)
class Evidence:
    signature: str  # base64 of the XML document
    ocsp_response: str  # base64 of the DER OCSP response


class SimulatorPki:
    def __init__(self, now: datetime):
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(
            (NameOID.COUNTRY_NAME, "SE"),
            (NameOID.ORGANIZATION_NAME, "Skuldkoll BankID-simulator"),
            (NameOID.COMMON_NAME, "Simulatorns testutfärdare (endast test)"),
        )
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )

    def _user_cert(self, key: ec.EllipticCurvePrivateKey, user: dict, now: datetime):
        subject = _name(
            (NameOID.COUNTRY_NAME, "SE"),
            (NameOID.SURNAME, user["surname"]),
            (NameOID.GIVEN_NAME, user["givenName"]),
            (NameOID.SERIAL_NUMBER, user["personalNumber"]),
            (NameOID.COMMON_NAME, user["name"]),
        )
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._ca_key, hashes.SHA256())
        )

    def evidence(
        self,
        *,
        kind: str,
        user: dict,
        device: dict,
        now: datetime,
        user_visible_data: str | None,
        user_non_visible_data: str | None,
        data_format: str | None,
    ) -> Evidence:
        """Sign the order's data as ``user`` and vouch for the certificate with OCSP.

        ``user_visible_data`` and ``user_non_visible_data`` are the base64 strings the RP
        sent, kept exactly as sent (that is what the user saw and approved).
        """
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._user_cert(key, user, now)
        signed_data = _signed_data(
            kind, device, now, user_visible_data, user_non_visible_data, data_format
        )
        signed_info = _signed_info(_b64(hashlib.sha256(signed_data.encode()).digest()))
        der = key.sign(signed_info.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(P256_BYTES, "big") + s.to_bytes(P256_BYTES, "big")
        certs = "".join(
            f"<X509Certificate>{_b64(c.public_bytes(serialization.Encoding.DER))}</X509Certificate>"
            for c in (cert, self.ca_cert)
        )
        document = (
            '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
            f'<Signature xmlns="{DSIG_NS}">{signed_info}'
            f"<SignatureValue>{_b64(raw)}</SignatureValue>"
            f"<KeyInfo><X509Data>{certs}</X509Data></KeyInfo>"
            f"<Object>{signed_data}</Object></Signature>"
        )
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=cert,
                issuer=self.ca_cert,
                algorithm=hashes.SHA256(),
                cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=now,
                next_update=now + timedelta(hours=12),
                revocation_time=None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.ca_cert)
            .sign(self._ca_key, hashes.SHA256())
        )
        return Evidence(
            signature=_b64(document.encode("utf-8")),
            ocsp_response=_b64(response.public_bytes(serialization.Encoding.DER)),
        )


def _signed_data(
    kind: str,
    device: dict,
    now: datetime,
    uvd: str | None,
    unvd: str | None,
    data_format: str | None,
) -> str:
    parts = [f'<bankIdSignedData xmlns="{BANKID_NS}" Id="bidSignedData">']
    if uvd is not None:
        fmt = f' format="{escape(data_format)}"' if data_format else ""
        parts.append(
            f'<usrVisibleData charset="UTF-8" visible="wysiwys"{fmt}>{escape(uvd)}</usrVisibleData>'
        )
    if unvd is not None:
        parts.append(f"<usrNonVisibleData>{escape(unvd)}</usrNonVisibleData>")
    parts.append(
        "<srvInfo>"
        f"<name>{_b64(b'Skuldkoll (simulerad RP)')}</name>"
        f"<nonce>{_b64(os.urandom(20))}</nonce>"
        "</srvInfo>"
        "<clientInfo>"
        f"<funcId>{'Signing' if kind == 'sign' else 'Identification'}</funcId>"
        f"<host><authAddr>{escape(device['ipAddress'])}</authAddr>"
        f"<uhi>{escape(device['uhi'])}</uhi></host>"
        f"<time>{escape(now.strftime('%Y-%m-%dT%H:%M:%SZ'))}</time>"
        "<version>" + _b64(b"simulator=1.0") + "</version>"
        "</clientInfo>"
        "</bankIdSignedData>"
    )
    return "".join(parts)


def _signed_info(digest_b64: str) -> str:
    return (
        "<SignedInfo>"
        f'<CanonicalizationMethod Algorithm="{C14N}"></CanonicalizationMethod>'
        f'<SignatureMethod Algorithm="{ECDSA_SHA256}"></SignatureMethod>'
        f'<Reference Type="{BANKID_NS}" URI="#bidSignedData">'
        f'<DigestMethod Algorithm="{SHA256}"></DigestMethod>'
        f"<DigestValue>{digest_b64}</DigestValue>"
        "</Reference>"
        "</SignedInfo>"
    )


class SignatureInvalid(ValueError):
    pass


def verify_signature(
    signature_b64: str, ca_cert: x509.Certificate | None = None
) -> x509.Certificate:
    """Check a simulator signature document; returns the signer's certificate.

    Verifies the digest of ``bankIdSignedData``, the ECDSA signature over ``SignedInfo``
    and, when ``ca_cert`` is given, that the simulator's CA issued the signer's certificate.
    """
    document = base64.b64decode(signature_b64).decode("utf-8")
    signed_info = re.search(r"<SignedInfo>.*?</SignedInfo>", document, re.S)
    signed_data = re.search(r"<bankIdSignedData .*?</bankIdSignedData>", document, re.S)
    value = re.search(r"<SignatureValue>([^<]+)</SignatureValue>", document)
    digest = re.search(r"<DigestValue>([^<]+)</DigestValue>", document)
    first_cert = re.search(r"<X509Certificate>([^<]+)</X509Certificate>", document)
    if not all((signed_info, signed_data, value, digest, first_cert)):
        raise SignatureInvalid("the document lacks a part of the signature")
    if _b64(hashlib.sha256(signed_data.group(0).encode()).digest()) != digest.group(1):
        raise SignatureInvalid("the signed data does not match its digest")
    cert = x509.load_der_x509_certificate(base64.b64decode(first_cert.group(1)))
    raw = base64.b64decode(value.group(1))
    der = encode_dss_signature(
        int.from_bytes(raw[:P256_BYTES], "big"), int.from_bytes(raw[P256_BYTES:], "big")
    )
    try:
        cert.public_key().verify(der, signed_info.group(0).encode(), ec.ECDSA(hashes.SHA256()))
        if ca_cert is not None:
            cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise SignatureInvalid("the signature does not verify") from exc
    return cert
