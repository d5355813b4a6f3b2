"""Steps several browser journeys share: a counsellor registers a client, the client
signs the fullmakt with the BankID simulator, and inquiries go out."""

from __future__ import annotations

import re

from tests.e2e.test_client_signs_fullmakt import new_page
from tests.e2e.test_staff_journeys import staff_sign_in


def register_and_sign(browser, base: str, csp: list[str], pnr: str, name: str, email: str):
    """Anna registers the client and the client signs; returns Anna's page, on the case."""
    _ctx, anna = new_page(browser, csp)
    staff_sign_in(anna, base, "counsellor", "anna.berg@demo.skuldkoll.se")
    anna.locator("#case-list").get_by_role("link", name="Registrera klient").click()
    anna.get_by_label("Personnummer").fill(pnr)
    anna.get_by_label("Klientens e-postadress").fill(email)
    anna.get_by_role("button", name="Registrera och skicka fullmakt").click()
    anna.wait_for_url(re.compile(r".*/counsellor/cases/[0-9a-f-]{36}$"))

    cctx, client = new_page(browser, csp)
    client.goto(f"{base}/client/")
    client.get_by_role("button", name="Logga in med BankID").click()
    href = client.get_by_role("link", name="Öppna BankID på den här enheten").get_attribute("href")
    app = cctx.new_page()
    app.goto(base + href)
    app.get_by_label(name, exact=False).check()
    app.get_by_role("button", name="Legitimera").click()
    client.get_by_role("heading", name=f"Hej {name}").wait_for()
    client.get_by_role("link", name="Läs och signera fullmakten").first.click()
    client.get_by_role("button", name="Signera med BankID").click()
    href = client.get_by_role("link", name="Öppna BankID på den här enheten").get_attribute("href")
    app.goto(base + href)
    app.get_by_role("button", name="Skriv under").click()
    client.get_by_text("Fullmakten är signerad och gäller till och med").wait_for()
    return anna, client


def send_inquiries(anna, case_url: str, creditors: list[str]) -> str:
    """From the case page: send inquiries to ``creditors``; returns the report's URL."""
    anna.goto(case_url)
    anna.get_by_role("link", name="Förfrågningar och svar").first.click()
    for name in creditors:
        anna.get_by_label(name, exact=False).check()
    anna.get_by_role("button", name="Skicka förfrågningar").click()
    anna.get_by_text(re.compile(rf"\d av {len(creditors)} har svarat")).wait_for()
    return anna.url
