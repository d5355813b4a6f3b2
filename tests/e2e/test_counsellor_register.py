"""The counsellor registers a client in a real browser on the demo server: looks the
person up in the population register, registers, and lands on the case page with the
pending fullmakt."""

from __future__ import annotations

import re

from tests.e2e.flows import shot, staff_sign_in

# Not Erik Andersson: the client's signing journey registers and signs him on the same
# (session-wide) demo server, and a signed case cannot show the pending state.
LARS = "196708094153"


def test_counsellor_registers_a_client_and_sees_the_pending_fullmakt(page, demo_server):
    csp_errors: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))
    staff_sign_in(page, demo_server, "counsellor", "anna.berg@demo.skuldkoll.se")
    page.get_by_role("heading", name="Hej Anna Berg").wait_for()
    page.locator("#case-list").get_by_role("link", name="Registrera klient").click()
    page.get_by_role("heading", name="Registrera klient").wait_for()

    # A wrong check digit is named at once (htmx lookup on change), then the right number
    # shows who the person is before anything is registered.
    pnr = page.get_by_label("Personnummer")
    pnr.fill("19670809-4154")
    pnr.press("Tab")
    page.locator("#person-lookup").get_by_text("Kontrollsiffran stämmer inte").wait_for()
    pnr.fill("19670809-4153")
    pnr.press("Tab")
    lookup = page.locator("#person-lookup")
    lookup.get_by_text("Lars Nilsson").wait_for()
    lookup.get_by_text("Södra Förstadsgatan 33, 211 43 Malmö").wait_for()
    shot(page, "counsellor-register")

    page.get_by_label("Klientens e-postadress").fill("lars.nilsson@example.se")
    page.get_by_role("button", name="Registrera och skicka fullmakt").click()
    page.wait_for_url(re.compile(r".*/counsellor/cases/[0-9a-f-]{36}$"))
    page.get_by_text(
        "Klienten är registrerad och fullmakten har skickats till lars.nilsson@example.se"
    ).wait_for()
    page.get_by_role("heading", name="Lars Nilsson", level=1).wait_for()
    page.locator("#fullmakt").get_by_text("Väntar på underskrift").wait_for()
    page.get_by_text("19670809-4153").first.wait_for()
    page.get_by_role("heading", name="Fullmakt för budget- och skuldrådgivning").wait_for()
    page.get_by_text("Jag, Lars Nilsson (19670809-4153), ger Skövde kommun").wait_for()
    page.get_by_role("button", name="Skicka igen").wait_for()
    page.locator("#inquiries").get_by_text("när klienten har signerat fullmakten").wait_for()
    shot(page, "counsellor-case")

    # Resend, and the case is in the counsellor's list with a masked personnummer.
    page.get_by_role("button", name="Skicka igen").click()
    page.get_by_text("Fullmakten har skickats igen till lars.nilsson@example.se").wait_for()
    page.get_by_role("link", name="Mina ärenden").click()
    row = page.locator("#case-list tr", has_text="Lars Nilsson")
    row.get_by_text("19670809-****").wait_for()
    row.get_by_text("Väntar på underskrift").wait_for()
    shot(page, "counsellor-cases")
    assert not csp_errors, csp_errors


def test_admin_moves_a_case_to_a_colleague(browser, demo_server):
    """Anna Berg registers Kerstin Karlsson; the admin Maria Sjöberg moves the case to
    Erik Lind (Anna is on leave); Anna no longer sees it."""
    anna = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    anna.set_default_timeout(15_000)
    page = anna.new_page()
    staff_sign_in(page, demo_server, "counsellor", "anna.berg@demo.skuldkoll.se")
    page.get_by_role("heading", name="Hej Anna Berg").wait_for()
    page.goto(demo_server + "/counsellor/cases/new")
    page.get_by_label("Personnummer").fill("195502214868")
    page.get_by_label("Klientens e-postadress").fill("kerstin@example.se")
    page.get_by_role("button", name="Registrera och skicka fullmakt").click()
    page.get_by_role("heading", name="Kerstin Karlsson", level=1).wait_for()
    case_url = page.url

    admin = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    admin.set_default_timeout(15_000)
    maria = admin.new_page()
    staff_sign_in(maria, demo_server, "counsellor", "maria.sjoberg@demo.skuldkoll.se")
    maria.get_by_role("heading", name="Ärenden i kommunen").wait_for()
    shot(maria, "counsellor-admin-home")
    maria.get_by_role("link", name="Visa alla ärenden").click()
    row = maria.locator("#admin-case-list tr", has_text="Kerstin Karlsson")
    row.get_by_text("Anna Berg").wait_for()
    shot(maria, "counsellor-admin-cases")
    row.get_by_role("link", name="Flytta").click()
    maria.get_by_role("heading", name="Flytta ärende").wait_for()
    maria.get_by_label("Ny rådgivare").select_option(label="Erik Lind")
    shot(maria, "counsellor-admin-transfer")
    maria.get_by_role("button", name="Flytta ärendet").click()
    maria.get_by_text("Ärendet har flyttats till Erik Lind.").wait_for()
    row = maria.locator("#admin-case-list tr", has_text="Kerstin Karlsson")
    row.get_by_text("Erik Lind").wait_for()
    # The admin never opens the case itself.
    assert maria.goto(case_url).status == 403

    # Anna's link to the case now leads nowhere: not even its existence is shown.
    assert page.goto(case_url).status == 404
    page.goto(demo_server + "/counsellor/")
    assert page.locator("#case-list").get_by_text("Kerstin Karlsson").count() == 0
    anna.close()
    admin.close()
