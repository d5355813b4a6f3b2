"""Issue 9, defect 10: htmx pages logged CSP violations for inline styles. htmx's settle
step copied an element's ``style`` attribute onto its swapped-in twin with
``setAttribute`` (``attributesToSettle`` holds "style" by default), which ``style-src
'self'`` refuses. A style attribute is there whenever something set a style from script:
browser extensions, password managers, Playwright hiding the caret for a screenshot.
The conftest fails every browser test on a violation; these tests pin the cause."""

from __future__ import annotations

from tests.e2e.flows import WATCH, staff_sign_in

NO_INLINE_STYLE = """() => ({
    indicatorStyles: htmx.config.includeIndicatorStyles,
    settles: htmx.config.attributesToSettle,
    styleElements: document.querySelectorAll("style").length,
    styleAttributes: [...document.querySelectorAll("[style]")].map((e) => e.outerHTML),
})"""


def test_htmx_is_configured_to_add_no_inline_style(page, demo_server):
    page.goto(demo_server + "/")
    page.wait_for_function("() => window.htmx && htmx.config")
    state = page.evaluate(NO_INLINE_STYLE)
    assert state == {
        "indicatorStyles": False,
        "settles": ["class", "width", "height"],
        "styleElements": 0,
        "styleAttributes": [],
    }


def test_a_style_set_from_script_survives_an_htmx_swap_without_violation(page, demo_server):
    staff_sign_in(page, demo_server, "counsellor", "anna.berg@demo.skuldkoll.se")
    page.locator("#case-list").get_by_role("link", name="Registrera klient").click()
    page.get_by_label("Personnummer").wait_for()
    # As an extension or a password manager would: a style through the CSSOM (allowed).
    page.evaluate("""() => { for (const id of ["register-client", "personnummer", "email"])
                               document.getElementById(id).style.outline = "1px solid red"; }""")
    page.get_by_role("button", name="Registrera och skicka fullmakt").click()  # 422: swapped
    page.locator("#register-client .has-error").first.wait_for()
    page.wait_for_timeout(300)  # the settle step runs after the swap
    assert WATCH.violations == [], WATCH.violations


def test_the_watch_catches_a_violation(page, demo_server):
    """The conftest's check itself: an inline style attribute set by a script is seen."""
    page.goto(demo_server + "/")
    page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    page.wait_for_timeout(200)
    caught = WATCH.take()  # taken, so that this test passes
    assert caught and all("Content Security Policy" in text for text in caught), caught
