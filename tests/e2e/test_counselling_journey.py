"""Issue 4's whole journey in a real browser on the demo server: register a client,
the client signs the fullmakt with (simulated) BankID, inquiries go to a web, an API and
a manual creditor, the answers come in three ways, the report fills in, then the
summary, budget, plan and BOSS+ export."""

from __future__ import annotations

from shared.counselling import bossplus
from tests.e2e.flows import new_page, register_and_sign, send_inquiries, shot, staff_sign_in

PNR, NAME = "19621130-6920", "Maria Svensson"


def test_counselling_case_end_to_end(browser, demo_server):
    csp: list[str] = []
    base = demo_server
    # 1-2. The counsellor registers the client, who signs the fullmakt with BankID.
    anna, _client = register_and_sign(browser, base, csp, PNR, NAME, "maria.svensson@example.se")
    case_url = anna.url

    # 3. The counsellor sends inquiries to three creditors, one per channel.
    report_url = send_inquiries(
        anna,
        case_url,
        ["Nordisk Inkasso AB", "Kreditbanken Sverige AB", "Centrala studiestödsnämnden (CSN)"],
    )

    # 4a. The web creditor answers in the creditor portal.
    sctx, sara = new_page(browser, csp)
    staff_sign_in(sara, base, "creditor", "sara.ek@demo.skuldkoll.se")
    sara.get_by_role("link", name=NAME).first.click()
    sara.get_by_label("Ja, kunden har skulder hos oss").check()
    sara.locator('[name="debts[0].reference"]').fill("NI-1")
    sara.locator('[name="debts[0].kind"]').select_option("loan")
    sara.locator('[name="debts[0].capital"]').fill("30 000")
    sara.get_by_role("button", name="Skicka svar", exact=True).last.click()
    sara.get_by_text("Svaret är registrerat").wait_for()

    # 4b. Kreditbanken's own system (examples/creditor_system, started by the demo) got
    # the signed webhook and answered through the API by itself; its admin sees the
    # answer and the delivery in the portal.
    kctx, karin = new_page(browser, csp)
    staff_sign_in(karin, base, "creditor", "karin.wall@demo.skuldkoll.se")
    for _ in range(40):  # the system answers within a second or two of the webhook
        karin.goto(f"{base}/creditor/?status=answered")
        if karin.get_by_role("link", name=NAME).count():
            break
        karin.wait_for_timeout(500)
    karin.get_by_role("link", name=NAME).first.wait_for()
    karin.get_by_role("link", name="Webhooks").first.click()
    karin.get_by_text("inquiry.created").first.wait_for()
    shot(karin, "journey-webhook-log")

    # 4c. The counsellor types in CSN's answer that came by post; the report fills in.
    anna.goto(report_url)
    anna.get_by_text("2 av 3 har svarat").wait_for()
    anna.get_by_role("link", name="Registrera svar").click()
    anna.get_by_label("Ja, klienten har skulder hos borgenären").check()
    anna.locator('[name="debts[0].reference"]').fill("CSN-1")
    anna.locator('[name="debts[0].capital"]').fill("10 000")
    anna.locator('[name="debts[0].kind"]').select_option("csn")
    anna.get_by_role("button", name="Spara svaret").click()
    anna.get_by_text("3 av 3 har svarat").wait_for()
    shot(anna, "journey-report")

    # 5. Summary, budget, plan, export.
    anna.get_by_role("link", name="Skuldsammanställning").first.click()
    anna.get_by_text("100\xa0000,00\xa0kr").first.wait_for()
    anna.get_by_role("link", name="Budget").first.click()
    anna.get_by_label("Lön").fill("25 000")
    anna.get_by_label("Boende").fill("23 500")
    anna.get_by_role("button", name="Spara budgeten").click()
    anna.get_by_role("heading", name="Förslag till avbetalningsplan").wait_for()
    anna.get_by_text("900,00\xa0kr").first.wait_for()  # 60 % of the 1 500 kr surplus
    shot(anna, "journey-plan")
    with anna.expect_download() as download:
        anna.get_by_role("link", name="Exportera till BOSS+").first.click()
    exported = bossplus.parse_csv(open(download.value.path(), "rb").read())  # noqa: SIM115
    assert exported.client.name == NAME and len(exported.debts) == 3
    assert not csp, csp
    for context in (anna.context, _client.context, sctx, kctx):
        context.close()
