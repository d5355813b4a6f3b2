"""A creditor answers an inquiry in a real browser on the demo server: verify the
fullmakt, add a debt row with htmx, get a field error, answer; an admin creates an API
key and a system reads the inquiry with it."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.e2e.flows import ROOT, shot, staff_sign_in

ELIN = "200109145581"

SEND_INQUIRY = """
import sys
from sqlalchemy import select
from shared.core import clock
from shared.core import db as dbmod
from shared.core.config import load
from shared.integrations.population import LocalTestRegister
from shared.identity.models import BankIdOrder, Creditor, User
from shared.counselling import cases, fullmakt, inquiries

dbmod.init(load()).load_default_key()
with dbmod.session_scope() as s:
    anna = s.scalar(select(User).where(User.email == "anna.berg@demo.skuldkoll.se"))
    case = cases.register_client(s, anna, personnummer=sys.argv[1], email="elin@example.se",
                                 register=LocalTestRegister(), today=clock.today()).case
    order = BankIdOrder(portal="client", kind="sign", order_ref=f"e2e-{case.id}",
                        auto_start_token="a", qr_start_token="q", qr_start_secret="s",
                        session_binding="b", started_at=clock.wall_now(), status="complete",
                        person_id=case.person_id,
                        purpose={"type": "fullmakt", "fullmakt_id": str(case.fullmakt.id)})
    s.add(order)
    s.flush()
    fullmakt.complete_signing(s, case.fullmakt, order, today=clock.today())
    nordisk = s.scalar(select(Creditor).where(Creditor.name == "Nordisk Inkasso AB"))
    [inquiry] = inquiries.send_inquiries(s, anna, case, [nordisk.id])
print(inquiry.id)
"""


def csp_watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
    return errors


def test_the_agent_answers_and_a_system_reads_the_answer(browser, demo_server, demo_env):
    made = subprocess.run(
        [sys.executable, "-c", SEND_INQUIRY, ELIN],
        cwd=ROOT,
        env=demo_env,
        capture_output=True,
        text=True,
        check=True,
    )
    inquiry_id = made.stdout.strip().splitlines()[-1]

    page = browser.new_context(locale="sv-SE").new_page()
    page.set_default_timeout(15_000)
    csp = csp_watch(page)
    staff_sign_in(page, demo_server, "creditor", "sara.ek@demo.skuldkoll.se")
    page.get_by_role("link", name="Elin Lindberg").click()
    page.get_by_role("heading", name="Förfrågan från Skövde kommun").wait_for()
    page.get_by_text("20010914-5581", exact=True).wait_for()
    page.get_by_text("Rådgivare: Anna Berg").wait_for()

    page.get_by_role("button", name="Lägg till skuld").click()
    page.locator('[name="debts[3].capital"]').wait_for()
    page.get_by_label("Ja, kunden har skulder hos oss").check()
    page.locator('[name="debts[0].reference"]').fill("INK-77")
    page.locator('[name="debts[0].kind"]').select_option("loan")
    page.locator('[name="debts[0].capital"]').fill("tolv")
    page.get_by_role("button", name="Skicka svar", exact=True).last.click()
    page.locator("#debts-0-capital-error").wait_for()
    shot(page, "creditor-answer-error")
    assert page.locator('[name="debts[0].reference"]').input_value() == "INK-77"
    page.locator('[name="debts[0].capital"]').fill("12 000")
    page.get_by_role("button", name="Skicka svar", exact=True).last.click()
    page.get_by_text("Svaret är registrerat").wait_for()
    page.get_by_role("cell", name="INK-77").wait_for()
    shot(page, "creditor-answered")
    page.context.close()

    admin = browser.new_context(locale="sv-SE").new_page()
    admin.set_default_timeout(15_000)
    csp += csp_watch(admin)
    staff_sign_in(admin, demo_server, "creditor", "johan.nyberg@demo.skuldkoll.se")
    admin.get_by_role("link", name="API-nycklar").click()
    admin.get_by_label("Namn på nyckeln").fill("Ekonomisystemet")
    admin.get_by_role("button", name="Skapa nyckel").click()
    key = admin.locator("#new-key-secret").inner_text().strip()
    shot(admin, "creditor-api-key")
    admin.context.close()

    response = httpx.get(
        f"{demo_server}/creditor/api/v1/inquiries/{inquiry_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == "yes" and body["debts"][0]["capital_ore"] == 1_200_000
    assert body["principal_name"] == "Elin Lindberg"
    assert csp == []
