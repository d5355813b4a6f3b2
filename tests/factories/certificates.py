"""Self-signed test certificates (client certificates for BankID and SPAR tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# OpenSSL checks a certificate against the real time, not the suite's clock: a fixed
# window (tests never read the real date) wide enough for any day the suite runs on.
VALID_FROM = datetime(2026, 1, 1, tzinfo=UTC)
VALID_UNTIL = VALID_FROM + timedelta(days=3650)


def self_signed(common_name: str, *, ca: bool = False):
    """(private key, certificate) valid for ten years from 2026-01-01."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    return key, builder.sign(key, hashes.SHA256())
