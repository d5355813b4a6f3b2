"""SPAR (Statens personadressregister): the population register in production.

``register_for(settings)`` gives the PersonSök client for the configured ``SPAR_*``
settings, built once per configuration (zeep reads the WSDL and its XSDs once).
"""

from __future__ import annotations

from functools import lru_cache

from shared.integrations.spar.client import SparConfig, SparRegister


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


def register_for(settings) -> SparRegister:
    return _register(config_from_settings(settings))


__all__ = ["SparConfig", "SparRegister", "config_from_settings", "register_for"]
