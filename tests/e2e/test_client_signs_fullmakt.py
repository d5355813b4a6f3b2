"""The counsellor registers Erik Andersson; he signs in to the client portal with
(simulated) BankID, reads the fullmakt and signs it in the BankID simulator, in a real
browser on the demo server."""

from __future__ import annotations

import re

from tests.e2e.flows import new_page, shot, staff_sign_in

ERIK = "19840312-2719"


def register_erik(browser, base: str, csp_errors: list[str]) -> str:
    """Anna Berg registers Erik in Skövde; returns the case's id."""
    context, page = new_page(browser, csp_errors)
    staff_sign_in(page, base, "counsellor", "anna.berg@demo.skuldkoll.se")
    page.get_by_role("heading", name="Hej Anna Berg").wait_for()
    page.locator("#case-list").get_by_role("link", name="Registrera klient").click()
    pnr = page.get_by_label("Personnummer")
    pnr.fill(ERIK)
    pnr.press("Tab")
    page.locator("#person-lookup").get_by_text("Erik Andersson").wait_for()
    page.get_by_label("Klientens e-postadress").fill("erik.andersson@example.se")
    page.get_by_role("button", name="Registrera och skicka fullmakt").click()
    page.wait_for_url(re.compile(r".*/counsellor/cases/[0-9a-f-]{36}$"))
    page.locator("#fullmakt").get_by_text("Väntar på underskrift").wait_for()
    case_id = page.url.rsplit("/", 1)[1]
    context.close()
    return case_id


def test_client_signs_the_fullmakt_with_bankid(browser, demo_server):
    csp_errors: list[str] = []
    case_id = register_erik(browser, demo_server, csp_errors)
    context, page = new_page(browser, csp_errors)

    page.goto(f"{demo_server}/client/")
    page.get_by_role("button", name="Logga in med BankID").click()
    href = page.get_by_role("link", name="Öppna BankID på den här enheten").get_attribute("href")
    app = context.new_page()  # the "phone": the simulator's test BankID app
    app.goto(demo_server + href)
    app.get_by_label("Erik Andersson", exact=False).check()
    app.get_by_role("button", name="Legitimera").click()
    page.get_by_role("heading", name="Hej Erik Andersson").wait_for()

    card = page.locator(f"#case-{case_id}")
    card.get_by_text("Skövde kommun").wait_for()
    card.get_by_text("Anna Berg").wait_for()
    card.get_by_role("link", name="Läs och signera fullmakten").click()

    # The whole text, then BankID shows the same text to sign.
    page.get_by_role("heading", name="Fullmakt för budget- och skuldrådgivning").wait_for()
    page.get_by_text("Jag, Erik Andersson (19840312-2719), ger Skövde kommun").wait_for()
    page.get_by_text("gäller i 12 månader från underskriften").wait_for()
    fullmakt_url = page.url
    shot(page, "client-fullmakt-pending")
    page.get_by_role("button", name="Signera med BankID").click()
    page.get_by_role("heading", name="Signera fullmakten med BankID").wait_for()
    page.get_by_text("Starta BankID-appen.").wait_for()
    assert re.search(r"/sign/[0-9a-f-]{36}$", page.url), page.url  # a reload polls
    shot(page, "client-fullmakt-sign-order")
    href = page.get_by_role("link", name="Öppna BankID på den här enheten").get_attribute("href")
    app.goto(demo_server + href)
    app.get_by_text("Det här skriver du under").wait_for()
    app.get_by_text("Fullmakt för budget- och skuldrådgivning").wait_for()
    assert app.get_by_role("radio").count() == 1  # only Erik may sign
    shot(app, "bankid-simulator-sign")
    app.get_by_role("button", name="Skriv under").click()
    app.get_by_text("Underskriften är klar").wait_for()

    page.wait_for_url(fullmakt_url)
    page.get_by_text("Fullmakten är signerad och gäller till och med").wait_for()
    page.locator(".badge", has_text="Aktiv").wait_for()
    page.get_by_role("button", name="Återkalla fullmakten").wait_for()
    shot(page, "client-fullmakt")

    page.get_by_role("link", name="Tillbaka till översikten").click()
    card = page.locator(f"#case-{case_id}")
    card.get_by_text("Pågår").wait_for()
    assert card.get_by_role("link", name="Läs och signera fullmakten").count() == 0
    shot(page, "client-home-case")
    assert not csp_errors, csp_errors
    context.close()
