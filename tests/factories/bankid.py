"""Driving the BankID simulator (simulators/bankid) as the tester's BankID app."""

from __future__ import annotations

from .flows import ERIK


def local(app, url: str) -> str:
    """A URL the app generated (under its mount point) as the test client's path."""
    root = app.config["APPLICATION_ROOT"].rstrip("/")
    assert url.startswith(root + "/")
    return url[len(root) :]


def approve_in_app(tester, token: str, personnummer: str = ERIK) -> None:
    """Open the order from its autostart token in the simulator's app and approve it as
    ``personnummer`` (a test person)."""
    page = tester.get(f"/app?autostarttoken={token}").headers["Location"]
    tester.get(page)
    r = tester.post(page, data={"action": "approve", "personnummer": personnummer})
    assert r.status_code == 303
