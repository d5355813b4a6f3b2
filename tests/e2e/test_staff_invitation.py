"""The platform operator adds an organisation; its first admin follows the e-mailed
invitation, chooses a password, enrols the authenticator and reaches the portal."""

from __future__ import annotations

import pyotp

from tests.e2e.flows import new_page, shot, staff_sign_in


def test_invitation_set_password_enrol_first_page(browser, demo_server):
    csp: list[str] = []
    _ctx, operator = new_page(browser, csp)
    staff_sign_in(operator, demo_server, "operator", "olof.drift@demo.skuldkoll.se")
    operator.get_by_role("heading", name="Organisationer", exact=True).wait_for()
    operator.get_by_label("Organisationens namn").fill("Inkasso Väst AB")
    operator.get_by_label("Organisationsnummer").fill("556036-0793")
    operator.get_by_label("Typ").select_option("agency")
    operator.get_by_label("Första administratörens namn").fill("Vera Väst")
    operator.get_by_label("Första administratörens e-postadress").fill("vera@inkassovast.se")
    operator.get_by_role("button", name="Lägg till och bjud in").click()
    operator.get_by_text("Inkasso Väst AB är tillagd").wait_for()
    shot(operator, "operator-organisations")

    operator.goto(demo_server + "/dev/mail")
    mail = operator.locator("article", has_text="vera@inkassovast.se").first
    link = mail.locator('a[href*="/creditor/invitation/"]').get_attribute("href")

    _ctx2, vera = new_page(browser, csp)
    vera.goto(link)
    vera.get_by_role("heading", name="Välkommen till Skuldkoll").wait_for()
    vera.get_by_label("Välj lösenord").fill("veras eget långa lösenord")
    vera.get_by_label("Upprepa lösenordet").fill("veras eget långa lösenord")
    vera.get_by_role("button", name="Spara lösenordet").click()
    vera.wait_for_url("**/creditor/login/enrol")
    secret = vera.locator("code.secret").inner_text().strip()
    vera.get_by_label("Engångskod").fill(pyotp.TOTP(secret).now())
    vera.get_by_role("button", name="Aktivera och logga in").click()
    vera.wait_for_url(lambda url: "/login" not in url)
    vera.get_by_text("Vera Väst").first.wait_for()
    vera.get_by_role("link", name="Personal").click()
    vera.get_by_role("heading", name="Personal").wait_for()
    shot(vera, "invited-admin-first-page")

    # the link was used: it leads nowhere now
    vera.goto(link)
    vera.get_by_role("heading", name="Länken gäller inte").wait_for()
    assert csp == []
