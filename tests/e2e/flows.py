"""Steps browser journeys share: a page that collects CSP errors, screenshots, staff
sign-in with password and TOTP, a counsellor registering a client who signs the
fullmakt with the BankID simulator, and inquiries going out."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest

from shared.core import clock
from shared.demo_data import DEMO_PASSWORD, demo_totp_secret

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results"


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    # Hiding the caret (the default) leaves style="" on inputs; htmx must not copy it
    # onto a swapped-in input ("attributesToSettle" without "style" in base.html).
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def new_page(browser, csp_errors: list[str]):
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))
    return context, page


# The TOTP time step each account last signed in with: the server refuses a code (a step)
# twice and accepts one step of drift, so signing in again within 30 s uses the next step.
_used_steps: dict[str, int] = {}


def fresh_totp(email: str) -> str:
    totp = pyotp.TOTP(demo_totp_secret(email))
    while True:
        # TOTP runs on wall time (the demo server checks it so), not the business clock
        current = int(clock.wall_now().timestamp()) // totp.interval
        step = max(current, _used_steps.get(email, -1) + 1)
        if step <= current + 1:
            break
        time.sleep(1)  # a third sign-in of the same account within one step
    _used_steps[email] = step
    return totp.generate_otp(step)


def staff_sign_in(page, base: str, portal: str, email: str) -> None:
    page.goto(f"{base}/{portal}/")
    assert "/login" in page.url
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Fortsätt").click()
    page.wait_for_url("**/login/totp")
    page.get_by_label("Engångskod").fill(fresh_totp(email))
    page.get_by_role("button", name="Logga in").click()
    # signed in once the portal's home has replaced the TOTP page
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state()


def register_and_sign(browser, base: str, csp: list[str], pnr: str, name: str, email: str):
    """Anna registers the client and the client signs; returns Anna's page, on the case."""
    _ctx, anna = new_page(browser, csp)
    staff_sign_in(anna, base, "counsellor", "anna.berg@demo.skuldkoll.se")
    anna.locator("#case-list").get_by_role("link", name="Registrera klient").click()
    anna.get_by_label("Personnummer").fill(pnr)
    anna.get_by_label("Klientens e-postadress").fill(email)
    anna.get_by_role("button", name="Registrera och skicka fullmakt").click()
    anna.wait_for_url(re.compile(r".*/counsellor/cases/[0-9a-f-]{36}$"))

    cctx, client = new_page(browser, csp)
    client.goto(f"{base}/client/")
    client.get_by_role("button", name="Logga in med BankID").click()
    href = client.get_by_role("link", name="Öppna BankID på den här enheten").get_attribute("href")
    app = cctx.new_page()
    app.goto(base + href)
    app.get_by_label(name, exact=False).check()
    app.get_by_role("button", name="Legitimera").click()
    client.get_by_role("heading", name=f"Hej {name}").wait_for()
    client.get_by_role("link", name="Läs och signera fullmakten").first.click()
    client.get_by_role("button", name="Signera med BankID").click()
    href = client.get_by_role("link", name="Öppna BankID på den här enheten").get_attribute("href")
    app.goto(base + href)
    app.get_by_role("button", name="Skriv under").click()
    client.get_by_text("Fullmakten är signerad och gäller till och med").wait_for()
    return anna, client


def send_inquiries(anna, case_url: str, creditors: list[str]) -> str:
    """From the case page: send inquiries to ``creditors``; returns the report's URL."""
    anna.goto(case_url)
    anna.get_by_role("link", name="Förfrågningar och svar").first.click()
    for name in creditors:
        anna.get_by_label(name, exact=False).check()
    anna.get_by_role("button", name="Skicka förfrågningar").click()
    anna.get_by_text(re.compile(rf"\d av {len(creditors)} har svarat")).wait_for()
    return anna.url


# Chromium words CSP violations as "Refused to apply inline style ...", "Applying inline
# style violates the following Content Security Policy directive ...", "Refused to
# evaluate a string as JavaScript ..." (an EvalError), and so on.
CSP_SIGNS = ("Content Security Policy", "Refused to ")
# Also report each violation with its directive, sample and source, from the page itself.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => console.error(
  `Content Security Policy violation: ${e.violatedDirective} blocked `
  + `${e.blockedURI || "inline"} ${JSON.stringify(e.sample)} at ${e.sourceFile}:${e.lineNumber}`),
  true);
"""


class BrowserWatch:
    """The CSP violations of the current test's pages, and its browser contexts."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.contexts: list = []

    def watch(self, context) -> None:
        self.contexts.append(context)
        context.add_init_script(script=REPORT_VIOLATIONS)
        context.on("console", self._console)
        context.on("weberror", self._error)

    def _console(self, message) -> None:
        if message.type == "error" and any(sign in message.text for sign in CSP_SIGNS):
            self.violations.append(f"{message.location.get('url')}: {message.text}")

    def _error(self, error) -> None:
        text = str(error.error)
        if any(sign in text for sign in CSP_SIGNS):
            self.violations.append(f"{error.page.url if error.page else '?'}: {text}")

    def close_contexts(self) -> None:
        contexts, self.contexts = self.contexts, []
        for context in contexts:
            context.close()  # a no-op for one the test closed itself

    def take(self) -> list[str]:
        violations, self.violations = self.violations, []
        return violations


WATCH = BrowserWatch()


class WatchedBrowser:
    """The Playwright browser, but each new context is watched (``BrowserWatch``)."""

    def __init__(self, browser) -> None:
        self._browser = browser

    def __getattr__(self, name: str):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        WATCH.watch(context)
        return context

    def new_page(self, **kwargs):
        """A page in a context of its own, watched like every other."""
        return self.new_context(**kwargs).new_page()


def fail_on_violations(when: str) -> None:
    if violations := WATCH.take():
        pytest.fail(
            f"Content Security Policy violations {when}:\n" + "\n".join(violations), pytrace=False
        )
