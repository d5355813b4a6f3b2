"""Issue 9, defect 11: on a 390 px wide phone the amount columns of the report and summary
tables were cut off. Every data table sits in a ``.table-wrap`` that scrolls sideways
while the page itself stays as wide as the screen, and the table's first column stays in
view (sticky) while the others slide under it.

The cause was not the wrapper (it scrolled) but what stuck out of it: the visually hidden
column headers ("Åtgärd") are ``position: absolute`` and had the page, not the wrapper, as
containing block, so the report page was 671 px wide and a phone zoomed it out."""

from __future__ import annotations

import pytest

from tests.e2e.flows import SHOTS, register_and_sign, send_inquiries, shot, staff_sign_in

PNR, NAME = "19910527-3420", "Anna Johansson"
PHONE = {
    "locale": "sv-SE",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
WIDTH = PHONE["viewport"]["width"]
CREDITORS = ["Nordisk Inkasso AB", "Centrala studiestödsnämnden (CSN)", "Kreditbanken Sverige AB"]
ANSWERS = [
    ("Nordisk Inkasso AB", "NI-2024-0001234567", "1 234 567,89"),
    ("Centrala studiestödsnämnden (CSN)", "CSN-99887766", "287 450"),
]

# One table: how wide the page and the wrapper are; scrolled to the far end, whether the
# first cell of the first body row is still at the wrapper's left edge and on top; and
# for every other amount cell of that row, whether some scroll position shows it whole,
# beside the sticky first column and not under it.
MEASURE = """(table) => {
    const wrap = table.parentElement.closest(".table-wrap");
    const out = {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
                 wrapped: !!wrap, caption: table.caption ? table.caption.innerText : ""};
    if (!wrap) return out;
    const onTop = (el) => {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + Math.min(r.height / 2, 12);
        const hit = document.elementFromPoint(x, y);
        return !!hit && el.contains(hit);
    };
    const row = table.tBodies[0].rows[0], first = row.cells[0];
    first.scrollIntoView({block: "center"});
    out.scrollWidth = wrap.scrollWidth; out.clientWidth = wrap.clientWidth;
    wrap.scrollLeft = wrap.scrollWidth;
    const w = wrap.getBoundingClientRect(), f = first.getBoundingClientRect();
    out.firstStays = Math.abs(f.left - w.left) < 1 && onTop(first);
    out.amounts = [...row.querySelectorAll(":scope > td.num:not(:first-child)")].map((cell) => {
        wrap.scrollLeft = cell.offsetLeft - first.offsetWidth;
        const c = cell.getBoundingClientRect(), edge = first.getBoundingClientRect().right;
        return {text: cell.innerText.trim(),
                shown: c.left >= edge - 1 && c.right <= w.right + 1 && onTop(cell)};
    });
    wrap.scrollLeft = 0;
    return out;
}"""


def phone(browser, storage_state=None):
    context = browser.new_context(**PHONE, storage_state=storage_state)
    context.set_default_timeout(15_000)
    return context.new_page()


def check_tables(page, name: str, *, amounts: bool = False) -> list[dict]:
    """The page is no wider than the phone; each data table with rows is in a wrapper
    that holds it, and if it scrolls, its first column stays and every amount can be
    scrolled into view. Saves a screenshot; returns the measurements."""
    page.wait_for_load_state()
    shot(page, f"phone-{name}")
    measured = []
    for table in page.locator("main table.data").all():
        if not table.locator(":scope > tbody > tr").count():
            continue
        m = table.evaluate(MEASURE)
        measured.append(m)
        where = f"{name}: table {m['caption'] or len(measured)}"
        assert m["wrapped"], f"{where} is not in a .table-wrap"
        # (a mobile browser widens its layout viewport, innerWidth, to a too wide page)
        assert m["page"] <= WIDTH and m["viewport"] <= WIDTH, f"{where}: {m}"
        if m["scrollWidth"] > m["clientWidth"]:
            assert m["firstStays"], f"{where}: the first column scrolled away or is covered"
        assert all(a["shown"] for a in m["amounts"]), f"{where}: {m['amounts']}"
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
    if amounts:
        assert any(m["amounts"] for m in measured), f"{name}: no amounts measured"
    return measured


@pytest.fixture(scope="module")
def case_with_debts(browser, demo_server):
    """Anna Berg's case for Anna Johansson, signed, three inquiries out, two answered by
    hand with debts; the signed-in sessions of the counsellor and the client."""
    base = demo_server
    anna, client = register_and_sign(browser, base, [], PNR, NAME, "anna.johansson@example.se")
    case_url = anna.url
    report_url = send_inquiries(anna, case_url, CREDITORS)
    for creditor, reference, capital in ANSWERS:
        anna.goto(report_url)
        anna.locator("#report tr", has_text=creditor).get_by_role(
            "link", name="Registrera svar"
        ).click()
        anna.get_by_label("Ja, klienten har skulder hos borgenären").check()
        anna.locator('[name="debts[0].kind"]').select_option("loan")
        anna.locator('[name="debts[0].reference"]').fill(reference)
        anna.locator('[name="debts[0].capital"]').fill(capital)
        anna.locator('[name="debts[0].interest"]').fill("12 345,67")
        anna.get_by_role("button", name="Spara svaret").click()
        anna.locator("#report tr", has_text=creditor).get_by_text("Besvarad").wait_for()
    made = {
        "case_url": case_url,
        "report_url": report_url,
        "client_url": f"{base}/client/cases/{case_url.rsplit('/', 1)[1]}",
        "anna": anna.context.storage_state(),
        "client": client.context.storage_state(),
    }
    anna.context.close()
    client.context.close()
    return made


def test_counsellor_tables_scroll_inside_the_page_on_a_phone(browser, case_with_debts):
    page = phone(browser, case_with_debts["anna"])
    case_url = case_with_debts["case_url"]
    page.goto(case_with_debts["report_url"])
    page.get_by_role("heading", name="Förfrågningar och svar").wait_for()
    report = check_tables(page, "counsellor-report", amounts=True)
    assert any(m["scrollWidth"] > m["clientWidth"] for m in report)

    page.get_by_role("link", name="Skuldsammanställning").first.click()
    page.get_by_role("heading", name="Skuldsammanställning").wait_for()
    summary = check_tables(page, "counsellor-summary", amounts=True)
    assert [a["text"] for a in summary[0]["amounts"]][-1] == "1\xa0246\xa0913,56\xa0kr"
    # What the agent sees after swiping the first table to its end.
    wrap = page.locator(".table-wrap").first
    wrap.evaluate("el => { el.scrollIntoView({block: 'center'}); el.scrollLeft = el.scrollWidth; }")
    wrap.screenshot(path=str(SHOTS / "phone-counsellor-summary-swiped.png"))

    page.get_by_role("link", name="Budget").first.click()
    page.get_by_label("Lön").fill("28 000")
    page.get_by_label("Boende").fill("9 500")
    page.get_by_role("button", name="Spara budgeten").click()
    page.get_by_role("heading", name="Förslag till avbetalningsplan").wait_for()
    check_tables(page, "counsellor-plan", amounts=True)
    page.get_by_role("link", name="Budget").first.click()
    page.get_by_label("Lön").wait_for()
    check_tables(page, "counsellor-budget")
    page.goto(case_url)
    check_tables(page, "counsellor-case")
    page.goto(case_url.rsplit("/cases/", 1)[0] + "/")
    check_tables(page, "counsellor-cases")


def test_client_case_tables_scroll_inside_the_page_on_a_phone(browser, case_with_debts):
    page = phone(browser, case_with_debts["client"])
    page.goto(case_with_debts["client_url"])
    page.get_by_role("heading", name="Mitt ärende").wait_for()
    measured = check_tables(page, "client-case", amounts=True)
    debts = measured[0]
    assert debts["scrollWidth"] > debts["clientWidth"] and debts["firstStays"]
    assert {a["text"] for a in debts["amounts"]} >= {"1\xa0246\xa0913,56\xa0kr"}


def test_creditor_tables_scroll_inside_the_page_on_a_phone(browser, demo_server, case_with_debts):
    base = demo_server
    page = phone(browser)
    page.goto(base + "/")
    check_tables(page, "landing")  # the demo logins
    staff_sign_in(page, base, "creditor", "johan.nyberg@demo.skuldkoll.se")
    page.goto(f"{base}/creditor/?status=answered")  # answered by hand by the counsellor
    page.locator("#inbox").get_by_role("link", name=NAME).first.wait_for()
    check_tables(page, "creditor-inbox")
    page.locator("#inbox").get_by_role("link", name=NAME).first.click()
    page.get_by_role("cell", name="NI-2024-0001234567").wait_for()
    check_tables(page, "creditor-inquiry", amounts=True)
    page.goto(f"{base}/creditor/customers")  # the search posts: no number in the URL
    page.get_by_label("Person- eller organisationsnummer").fill(PNR)
    page.get_by_role("button", name="Sök").click()
    page.locator("#customer-results").get_by_text(PNR).first.wait_for()
    page.get_by_text(f"Gällande fullmakter för {NAME}").first.click()  # a row-wide cell
    page.get_by_role("button", name="Avprenumerera").first.wait_for()
    check_tables(page, "creditor-customers")
    page.goto(f"{base}/creditor/notices")
    check_tables(page, "creditor-notices")
    page.goto(f"{base}/creditor/settings/api-keys")
    check_tables(page, "creditor-keys")
    page.get_by_role("link", name="API", exact=True).click()
    page.get_by_role("heading", name="API för borgenärer").wait_for()
    check_tables(page, "creditor-api")

    kreditbanken = phone(browser)
    staff_sign_in(kreditbanken, base, "creditor", "karin.wall@demo.skuldkoll.se")
    kreditbanken.goto(f"{base}/creditor/webhooks")
    kreditbanken.get_by_text("inquiry.created").first.wait_for()
    kreditbanken.get_by_role("link", name="Visa försök").first.click()  # a row-wide cell
    kreditbanken.get_by_role("link", name="Dölj försök").first.wait_for()
    check_tables(kreditbanken, "creditor-webhooks")
