"""Local stand-in for SPAR PersonSök program-program (demo mode and tests)."""

from simulators.spar.app import DEMO_ASSIGNMENT_ID, DEMO_CUSTOMER_NUMBER, create_app

__all__ = ["DEMO_ASSIGNMENT_ID", "DEMO_CUSTOMER_NUMBER", "create_app"]
