"""The counsellor corrects a client's mistyped e-mail address on the case page in a real
browser: markup in an address is refused at the field (and never runs), and the pending
fullmakt goes to the new address."""

from __future__ import annotations

import re

from tests.e2e.flows import shot, staff_sign_in

BENGT = "194804177659"  # used by no other browser test: his case stays pending here
XSS = '"><img src=x onerror=alert(1)>@example.se'


def test_counsellor_changes_the_clients_email(page, demo_server):
    csp_errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    staff_sign_in(page, demo_server, "counsellor", "anna.berg@demo.skuldkoll.se")
    page.goto(demo_server + "/counsellor/cases/new")
    page.get_by_label("Personnummer").fill(BENGT)
    page.get_by_label("Klientens e-postadress").fill("bengt.olsson@exmaple.se")
    page.get_by_role("button", name="Registrera och skicka fullmakt").click()
    page.wait_for_url(re.compile(r".*/counsellor/cases/[0-9a-f-]{36}$"))
    page.get_by_role("heading", name="Bengt Olsson", level=1).wait_for()

    page.get_by_text("Ändra e-postadress").first.click()
    field = page.get_by_label("Ny e-postadress")
    field.fill(XSS)
    page.get_by_role("button", name="Ändra e-postadress").click()
    page.locator("#email-error").get_by_text("till exempel namn@exempel.se").wait_for()
    assert page.get_by_label("Ny e-postadress").input_value() == XSS  # shown, as text
    assert page.locator("img[src=x]").count() == 0 and not dialogs
    shot(page, "counsellor-change-email-refused")

    page.get_by_label("Ny e-postadress").fill("bengt.olsson@example.se")
    page.get_by_role("button", name="Ändra e-postadress").click()
    page.get_by_text(
        "E-postadressen är ändrad och fullmakten har skickats till bengt.olsson@example.se."
    ).wait_for()
    page.get_by_text("bengt.olsson@exmaple.se").wait_for(state="detached")
    assert re.search(r"/counsellor/cases/[0-9a-f-]{36}$", page.url)
    shot(page, "counsellor-change-email")

    # The demo outbox: the fullmakt went to the corrected address too.
    page.goto(demo_server + "/dev/mail")
    page.locator("article", has_text="Till bengt.olsson@example.se").first.wait_for()
    assert not csp_errors, csp_errors
