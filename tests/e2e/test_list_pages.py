"""A counsellor with more cases than a page pages through them in a real browser: the
tabs show their counts, "Nästa sida" swaps the list with htmx and pushes its URL,
"Första sidan" leads back, and a tab keeps its filter from page to page."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.flows import ROOT, shot, staff_sign_in

LARS = "lars.holm@demo.skuldkoll.se"  # Lerum's counsellor: no other browser test uses him

ADD_CASES = """
from datetime import timedelta
from sqlalchemy import select
from shared.core import clock
from shared.core import db as dbmod
from shared.core.config import load
from shared.identity.models import User
from tests.factories import CaseFactory, bound_to

dbmod.init(load()).load_default_key()
with dbmod.session_scope() as s, bound_to(s):
    lars = s.scalar(select(User).where(User.email == "lars.holm@demo.skuldkoll.se"))
    start = clock.now() - timedelta(days=40)
    for n in range(30):  # one a day; the newest 3 still wait for the client's signature
        with clock.frozen(start + timedelta(days=n)):
            CaseFactory(counsellor=lars, signed=n < 27)
"""


def test_the_counsellor_pages_through_the_case_list(browser, demo_server, demo_env):
    subprocess.run(
        [sys.executable, "-c", ADD_CASES], cwd=ROOT, env=demo_env, check=True, capture_output=True
    )
    page = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    staff_sign_in(page, demo_server, "counsellor", LARS)
    rows = page.locator("#case-list tbody tr")
    assert rows.count() == 25
    tabs = page.get_by_role("navigation", name="Visa ärenden")
    all_cases = tabs.get_by_role("link", name="Alla")
    assert "30" in all_cases.inner_text() and all_cases.get_attribute("aria-current") == "page"
    assert "3" in tabs.get_by_role("link", name="Väntar på underskrift").inner_text()
    first_row = rows.first.inner_text()

    page.get_by_role("link", name="Nästa sida").click()
    page.wait_for_url(lambda url: "before=" in url and "status=all" in url)
    page.get_by_role("link", name="Första sidan").wait_for()
    assert rows.count() == 5 and page.get_by_role("link", name="Nästa sida").count() == 0
    assert page.locator("h1").count() == 1  # the list's partial was swapped in, not a page
    shot(page, "counsellor-case-list-page-2")

    page.get_by_role("link", name="Första sidan").click()
    page.wait_for_url("**/counsellor/?status=all")
    page.get_by_role("link", name="Nästa sida").wait_for()
    assert rows.count() == 25 and rows.first.inner_text() == first_row

    page.get_by_role("link", name="Aktiva").click()
    page.wait_for_url("**/counsellor/?status=active")
    page.get_by_role("link", name="Nästa sida").wait_for()  # 27 active: one more page
    page.get_by_role("link", name="Nästa sida").click()
    page.wait_for_url(lambda url: "before=" in url and "status=active" in url)
    page.get_by_role("link", name="Första sidan").wait_for()
    assert rows.count() == 2
    assert "Väntar på underskrift" not in page.locator("#case-list tbody").inner_text()
    shot(page, "counsellor-case-list-active")
    page.context.close()
