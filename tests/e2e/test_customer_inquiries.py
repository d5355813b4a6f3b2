"""Issue 5 in a real browser, as creditor agents use it: Kundfrågor (customer
inquiries) with a yes and a no, "Svara ja" after a no, fetch (hämta) and unsubscribe
(avprenumerera), and the fullmakt's revocation reaching the subscribers: a notice in
the portal for the web creditor, a webhook to the API creditor's own system."""

from __future__ import annotations

import re

from tests.e2e.flows import new_page, register_and_sign, send_inquiries, shot, staff_sign_in

PNR, NAME = "19780603-6211", "Johan Persson"  # a customer in Kreditbanken's own ledger


def search(page, base: str, pnr: str) -> None:
    page.goto(f"{base}/creditor/customers")
    page.get_by_label("Person- eller organisationsnummer").fill(pnr)
    page.get_by_role("button", name="Sök").click()
    page.locator("#customer-results").get_by_text(pnr).first.wait_for()
    digits = pnr.replace("-", "")
    assert digits not in page.url and digits[2:] not in page.url and pnr not in page.url


def test_customer_inquiries_yes_no_fetch_unsubscribe_and_events(browser, demo_server):
    csp: list[str] = []
    base = demo_server
    anna, client = register_and_sign(browser, base, csp, PNR, NAME, "johan@example.se")
    send_inquiries(anna, anna.url, ["Nordisk Inkasso AB", "Kreditbanken Sverige AB"])

    # Sara at Nordisk Inkasso first answers no ...
    _sctx, sara = new_page(browser, csp)
    staff_sign_in(sara, base, "creditor", "sara.ek@demo.skuldkoll.se")
    sara.get_by_role("link", name=NAME).first.click()
    sara.get_by_label("Ingen kundrelation").check()
    sara.get_by_role("button", name="Skicka svar", exact=True).last.click()
    sara.get_by_text("Svaret är registrerat").wait_for()

    # ... and in Kundfrågor the no shows only the number and the two times.
    search(sara, base, PNR)
    results = sara.locator("#customer-results")
    assert NAME not in results.inner_text() and "Anna Berg" not in results.inner_text()
    shot(sara, "customers-no")

    # Later she answers yes instead, with a debt.
    results.get_by_role("link", name="Svara ja").click()
    sara.get_by_role("heading", name="Ändra svaret till ja").wait_for()
    sara.locator('[name="debts[0].reference"]').fill("NI-77")
    sara.locator('[name="debts[0].kind"]').select_option("loan")
    sara.locator('[name="debts[0].capital"]').fill("12 500")
    sara.get_by_role("button", name="Ändra svaret till ja").click()
    sara.get_by_text("NI-77").first.wait_for()

    # Now the row names the principal and the agent and unfolds to the fullmakt; fetch
    # needs a webhook address, which Nordisk has not set up.
    search(sara, base, PNR)
    results = sara.locator("#customer-results")
    assert NAME in results.inner_text() and "Skövde kommun" in results.inner_text()
    results.get_by_text(f"Gällande fullmakter för {NAME}").click()
    fullmakter = results.locator(".customer-fullmakter")
    fullmakter.get_by_text("Budget- och skuldrådgivning").wait_for()
    assert re.search(r"FM-[0-9A-Z]{4}-[0-9A-Z]{4}", fullmakter.inner_text())
    assert fullmakter.get_by_role("button", name="Hämta").is_disabled()
    fullmakter.get_by_text("Prenumererar", exact=True).wait_for()
    shot(sara, "customers-yes")

    # The counsellor's report shows both yes answers (Kreditbanken's system answered).
    anna.reload()
    anna.get_by_text("2 av 2 har svarat").wait_for()

    # Karin at Kreditbanken fetches the fullmakt to the bank's system, then unsubscribes.
    _kctx, karin = new_page(browser, csp)
    staff_sign_in(karin, base, "creditor", "karin.wall@demo.skuldkoll.se")
    search(karin, base, PNR)
    results = karin.locator("#customer-results")
    results.get_by_text(f"Gällande fullmakter för {NAME}").click()
    fullmakter = results.locator(".customer-fullmakter")
    fullmakter.get_by_role("button", name="Hämta").click()
    karin.get_by_text(re.compile(r"Fullmakten FM-\S+ skickas till ert system")).wait_for()
    fullmakter.get_by_role("button", name="Avprenumerera").click()
    karin.get_by_text(re.compile(r"Ni prenumererar inte längre")).wait_for()
    fullmakter.get_by_role("button", name="Prenumerera", exact=True).wait_for()
    shot(karin, "customers-unsubscribed")

    # The client revokes the fullmakt: Nordisk (subscribed, no webhook) gets a notice;
    # Kreditbanken (unsubscribed) gets no fullmakt.revoked webhook.
    client.get_by_role("link", name="Återkalla fullmakten").or_(
        client.get_by_role("heading", name="Återkalla fullmakten")
    ).first.wait_for()
    revoke = client.locator("section[id^=revoke-]")
    revoke.get_by_role("checkbox").check()
    revoke.get_by_role("button", name="Återkalla fullmakten").click()
    client.get_by_text(re.compile("återkallad", re.I)).first.wait_for()
    for _ in range(40):  # the fan-out runs right after the commit
        sara.goto(f"{base}/creditor/notices")
        if sara.get_by_text("Fullmakten har återkallats av fullmaktsgivaren").count():
            break
        sara.wait_for_timeout(250)
    sara.get_by_text("Fullmakten har återkallats av fullmaktsgivaren").first.wait_for()
    shot(sara, "notices")
    karin.goto(f"{base}/creditor/webhooks")
    log = karin.locator("main").inner_text()
    assert "fullmakt.sent" in log and "inquiry.created" in log
    assert "fullmakt.revoked" not in log
    shot(karin, "webhook-log")
    assert not csp, csp
    for page in (anna, client, sara, karin):
        page.context.close()
