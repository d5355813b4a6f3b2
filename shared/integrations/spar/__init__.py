"""SPAR (Statens personadressregister): the population register in production.

``register_for(settings)`` gives the PersonSök client for the configured ``SPAR_*``
settings, built once per configuration (zeep reads the WSDL and its XSDs once).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from shared.integrations.population import RegisterRecord, RegisterUnavailable
from shared.integrations.spar.client import SparConfig, SparRegister

log = logging.getLogger(__name__)


def config_from_settings(settings) -> SparConfig:
    return SparConfig(
        url=settings.spar_url,
        customer_number=int(settings.spar_customer_number),
        end_customer_number=int(settings.spar_end_customer_number or settings.spar_customer_number),
        assignment_id=int(settings.spar_assignment_id),
        cert=settings.spar_cert,
        cert_password=settings.spar_cert_password,
        ca=settings.spar_ca,
        timeout=settings.spar_timeout,
    )


@lru_cache(maxsize=4)
def _register(config: SparConfig) -> SparRegister:
    return SparRegister(config)


class _Unusable:
    """SPAR is configured but its client cannot be built (a PKCS#12 file that does not
    open, a wrong password): every lookup is unavailable, so the counsellor gets the
    message and the manual entry rather than an error page, and the log says why."""

    def __init__(self, reason: str):
        self.reason = reason

    def lookup(self, personnummer: str, *, end_user: str) -> RegisterRecord | None:
        log.error("SPAR client not usable: %s", self.reason)
        raise RegisterUnavailable("configuration")


def register_for(settings) -> SparRegister | _Unusable:
    try:
        return _register(config_from_settings(settings))
    except (OSError, ValueError, TypeError) as exc:
        return _Unusable(f"{type(exc).__name__} (check SPAR_CERT and SPAR_CERT_PASSWORD)")


__all__ = ["SparConfig", "SparRegister", "config_from_settings", "register_for"]
