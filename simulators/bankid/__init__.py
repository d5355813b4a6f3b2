"""Local BankID RP API v6.0 simulator with a test BankID app (demo mode and tests)."""

from simulators.bankid.app import create_app

__all__ = ["create_app"]
