"""A new user's first steps as staff, in a real browser on the demo server."""

from __future__ import annotations

from tests.e2e.flows import shot, staff_sign_in


def test_landing_page_lists_portals_and_demo_logins(page, demo_server):
    page.goto(demo_server + "/")
    for name in ("Rådgivare", "Klient", "Borgenär", "Mina skulder"):
        assert page.locator(".tile").get_by_role("link", name=name).is_visible()
    assert page.get_by_text("anna.berg@demo.skuldkoll.se").is_visible()
    code = page.locator("code.totp").first.inner_text()
    assert code.isdigit() and len(code) == 6
    shot(page, "landing")


def test_counsellor_signs_in_with_password_and_totp(page, demo_server):
    staff_sign_in(page, demo_server, "counsellor", "anna.berg@demo.skuldkoll.se")
    page.get_by_role("heading", name="Hej Anna Berg").wait_for()
    page.get_by_text("Skövde kommun").first.wait_for()
    shot(page, "counsellor-home")
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url("**/counsellor/login")


def test_creditor_signs_in_with_password_and_totp(page, demo_server):
    staff_sign_in(page, demo_server, "creditor", "sara.ek@demo.skuldkoll.se")
    page.get_by_role("heading", name="Hej Sara Ek").wait_for()
    page.get_by_text("Nordisk Inkasso AB").first.wait_for()
    shot(page, "creditor-home")


def test_wrong_password_gives_a_clear_message(page, demo_server):
    page.goto(demo_server + "/counsellor/login")
    page.get_by_label("E-postadress").fill("anna.berg@demo.skuldkoll.se")
    page.get_by_label("Lösenord").fill("fel-lösenord-123")
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_text("Inloggningen misslyckades").wait_for()
    shot(page, "login-error")


def test_admin_moves_the_demo_clock(page, demo_server):
    staff_sign_in(page, demo_server, "counsellor", "maria.sjoberg@demo.skuldkoll.se")
    page.get_by_role("link", name="Demoklocka").click()
    page.get_by_label("Antal dagar framåt").fill("7")
    page.get_by_role("button", name="Flytta fram klockan").click()
    page.get_by_text("Demoklockan flyttades fram 7 dagar.").wait_for()


def test_login_page_works_on_a_phone(phone, demo_server):
    phone.goto(demo_server + "/counsellor/login")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    shot(phone, "login-phone")
