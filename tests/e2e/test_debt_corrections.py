"""Issue 9 in a real browser: a creditor asked again only after the warning, its newer
answer replacing the earlier one (kept as history); the counsellor corrects a debt and
removes one with a reason, and the report says who did it."""

from __future__ import annotations

from tests.e2e.flows import register_and_sign, send_inquiries, shot

PNR, NAME = "19970630-4202", "Ida Sandberg"
CSN = "Centrala studiestödsnämnden (CSN)"


def type_in_answer(anna, *debts: tuple[str, str]) -> None:
    anna.get_by_role("link", name="Registrera svar").click()
    anna.get_by_label("Ja, klienten har skulder hos borgenären").check()
    for i, (reference, capital) in enumerate(debts):
        anna.locator(f'[name="debts[{i}].reference"]').fill(reference)
        anna.locator(f'[name="debts[{i}].kind"]').select_option("csn")
        anna.locator(f'[name="debts[{i}].capital"]').fill(capital)
    anna.get_by_role("button", name="Spara svaret").click()


def test_ask_again_correct_and_remove(browser, demo_server):
    csp: list[str] = []
    anna, client = register_and_sign(browser, demo_server, csp, PNR, NAME, "ida@example.se")
    report_url = send_inquiries(anna, anna.url, [CSN])
    type_in_answer(anna, ("CSN-1", "10 000"), ("CSN-2", "3 000"))
    anna.get_by_text("1 av 1 har svarat").wait_for()

    # Asking CSN again: first a warning, then the confirmation.
    anna.get_by_label(CSN, exact=False).check()
    anna.get_by_role("button", name="Skicka förfrågningar").click()
    anna.get_by_text("har redan svarat. Ett nytt svar ersätter det tidigare").wait_for()
    shot(anna, "debts-ask-again-warning")
    anna.get_by_label("Ja, fråga dem igen").check()
    anna.get_by_role("button", name="Skicka förfrågningar").click()
    anna.get_by_text("1 av 2 har svarat").wait_for()
    type_in_answer(anna, ("CSN-1", "12 000"))
    anna.get_by_text("2 av 2 har svarat").wait_for()
    history = anna.locator("#debt-history")
    history.get_by_text("10\xa0000,00\xa0kr").wait_for()
    assert history.get_by_text("ersatt av ett senare svar").count() == 2

    # Correct the current debt, then remove it.
    anna.get_by_role("link", name="Ändra").first.click()
    anna.get_by_label("Kapital (kr)").fill("11 500")
    anna.get_by_label("Varför ändras skulden?").fill("Nytt besked från CSN")
    anna.get_by_role("button", name="Spara ändringen").click()
    anna.get_by_text("ändrad av Anna Berg").wait_for()
    anna.get_by_text("11\xa0500,00\xa0kr").first.wait_for()
    shot(anna, "debts-changed")
    anna.get_by_role("link", name="Ta bort").first.click()
    anna.get_by_role("heading", name="Ta bort skulden?").wait_for()
    anna.get_by_role("button", name="Ta bort skulden").click()
    anna.get_by_text("Skriv varför.").wait_for()  # the reason is required
    anna.get_by_label("Varför tas skulden bort?").fill("Betald")
    anna.get_by_role("button", name="Ta bort skulden").click()
    anna.wait_for_url(report_url)
    history.get_by_text("borttagen av Anna Berg").wait_for()
    anna.get_by_text("Inga skulder registrerade ännu.").wait_for()
    shot(anna, "debts-history")
    assert not csp, csp
    anna.context.close()
    client.context.close()
