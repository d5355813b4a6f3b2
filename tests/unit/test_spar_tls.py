"""The SPAR adapter's TLS: the municipality's PKCS#12 certificate is loaded into the
client context, and its decrypted key leaves nothing behind on disk."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from shared.integrations.spar.client import SparConfig, tls_context
from tests.factories.certificates import self_signed


def make_p12(path: Path, password: bytes) -> None:
    key, cert = self_signed("Kommun A")
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"kommun", key, cert, None, BestAvailableEncryption(password)
        )
    )


def config(cert: Path, password: str | None) -> SparConfig:
    return SparConfig(
        url="https://spar.example/2021.1/",
        customer_number=500243,
        end_customer_number=500243,
        assignment_id=637,
        cert=str(cert),
        cert_password=password,
    )


def test_the_pkcs12_certificate_is_loaded_and_no_key_stays_on_disk(tmp_path):
    cert = tmp_path / "kommun.p12"
    make_p12(cert, b"hemligt")
    before = set(Path(tempfile.gettempdir()).glob("spar-*"))
    context = tls_context(config(cert, "hemligt"))
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert set(Path(tempfile.gettempdir()).glob("spar-*")) == before


def test_a_wrong_password_is_refused(tmp_path):
    cert = tmp_path / "kommun.p12"
    make_p12(cert, b"hemligt")
    with pytest.raises(ValueError):
        tls_context(config(cert, "fel"))


def test_an_unusable_certificate_makes_spar_unavailable_not_an_error(tmp_path, caplog):
    from shared.core.config import Settings
    from shared.integrations.population import RegisterUnavailable, register_from_settings

    cert = tmp_path / "kommun.p12"
    make_p12(cert, b"hemligt")
    settings = Settings(
        spar_url="https://spar.example/2021.1/",
        spar_cert=str(cert),
        spar_cert_password="fel",
        spar_customer_number="500243",
        spar_assignment_id="637",
    )
    register = register_from_settings(settings)
    with pytest.raises(RegisterUnavailable):
        register.lookup("198403122719", end_user="u")
    assert "SPAR_CERT_PASSWORD" in caplog.text and "198403122719" not in caplog.text
