"""A citizen signs in with (simulated) BankID, in a real browser on the demo server:
htmx polls the order page, the QR code changes every second, and completion navigates
to the portal's home page."""

from __future__ import annotations

import pytest

from tests.e2e.flows import shot


@pytest.mark.parametrize(("portal", "heading"), [("client", "Klient"), ("debtor", "Mina skulder")])
def test_citizen_signs_in_with_bankid(browser, demo_server, portal, heading):
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    csp_errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))
    page.goto(f"{demo_server}/{portal}/")
    assert "/login" in page.url
    page.get_by_role("button", name="Logga in med BankID").click()
    page.get_by_text("Starta BankID-appen.").wait_for()
    qr = page.locator("#bankid-order svg")
    first = qr.inner_html()
    page.wait_for_function(
        "old => document.querySelector('#bankid-order svg').innerHTML !== old", arg=first
    )
    shot(page, f"{portal}-bankid-order")

    # The "phone": the simulator's test app, opened from the autostart link.
    link = page.get_by_role("link", name="Öppna BankID på den här enheten")
    app = context.new_page()
    app.goto(demo_server + link.get_attribute("href"))
    app.get_by_label("Erik Andersson", exact=False).check()
    shot(app, "bankid-simulator")
    app.get_by_role("button", name="Legitimera").click()
    app.get_by_text("Legitimeringen är klar").wait_for()

    page.get_by_role("heading", name="Hej Erik Andersson").wait_for()
    assert page.url.rstrip("/").endswith(f"/{portal}"), page.url
    page.locator(".brand-portal", has_text=heading).wait_for()
    shot(page, f"{portal}-home")
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"**/{portal}/login")
    assert not csp_errors
    context.close()


def test_citizen_cancels_in_the_app(browser, demo_server):
    context = browser.new_context(locale="sv-SE")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{demo_server}/client/login")
    page.get_by_role("button", name="Logga in med BankID").click()
    href = page.get_by_role("link", name="Öppna BankID på den här enheten").get_attribute("href")
    app = context.new_page()
    app.goto(demo_server + href)
    app.get_by_role("button", name="Avbryt").click()
    page.get_by_text("Åtgärden avbruten.").wait_for()
    page.get_by_role("button", name="Försök igen").click()
    page.get_by_text("Starta BankID-appen.").wait_for()
    context.close()
