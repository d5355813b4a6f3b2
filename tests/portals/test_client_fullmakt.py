"""The client reads, signs (BankID simulator, through httpx.WSGITransport) and revokes
the fullmakt in the client portal."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest
from sqlalchemy import select, text
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from shared.core import clock
from shared.counselling import cases
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import CaseStatus, FullmaktStatus
from shared.identity.models import BankIdOrder, OrgKind, Person, Role
from shared.integrations import bankid
from shared.integrations.population import LocalTestRegister
from shared.security import crypto
from shared.security.models import AuditEntry
from simulators.bankid import create_app as create_simulator
from simulators.bankid.signature import verify_signature
from tests.factories import login_citizen
from tests.factories.bankid import approve_in_app, local

ERIK = "198403122719"
HX = {"HX-Request": "true"}
UNDERSTOOD = "Jag förstår att inga nya uppgifter hämtas in och att insamlade uppgifter raderas"


@pytest.fixture
def sim_app(wall):
    return create_simulator()


@pytest.fixture
def tester(sim_app):
    return sim_app.test_client()


@pytest.fixture
def portal(make_app, sim_app):
    mounted = DispatcherMiddleware(NotFound(), {"/bankid-sim": sim_app})
    return make_app("client", BANKID_TRANSPORT=httpx.WSGITransport(app=mounted))


@pytest.fixture
def case(db, factories):
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    counsellor = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    registration = cases.register_client(
        db,
        counsellor,
        personnummer=ERIK,
        email="erik@example.se",
        register=LocalTestRegister(),
        today=clock.today(),
    )
    db.commit()
    return registration.case


@pytest.fixture
def erik(case):
    return case.person


@pytest.fixture
def client(portal, erik):
    c = portal.test_client()
    login_citizen(c, erik)
    return c


def fullmakt_url(case) -> str:
    return f"/fullmakt/{case.fullmakt.id}"


def start_signing(client, case) -> tuple[str, str]:
    """Press "Signera med BankID"; returns the order's poll path and autostart token."""
    r = client.post(fullmakt_url(case) + "/sign")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    poll_url = re.search(r'hx-get="([^"]*/sign/[0-9a-f-]{36})"', html).group(1)
    assert r.headers["HX-Push-Url"] == poll_url
    token = re.search(r'href="/bankid-sim/app\?autostarttoken=([0-9a-f-]{36})"', html).group(1)
    return local(client.application, poll_url), token


def sign(client, tester, wall, case) -> httpx.Response:
    poll_url, token = start_signing(client, case)
    approve_in_app(tester, token)
    wall.advance(2)
    return client.get(poll_url, headers=HX)


def other_citizen(portal, factories):
    other = factories.person("198001012387", "Maja", "Lind")
    c = portal.test_client()
    login_citizen(c, other)
    return c


def test_home_lists_the_case_with_a_button_to_sign(client, case):
    html = client.get("/").get_data(as_text=True)
    assert "Skövde kommun" in html and "Anna Berg" in html
    assert "Väntar på fullmakt" in html and "Väntar på din underskrift" in html
    assert "Läs och signera fullmakten" in html
    assert f'href="/client/fullmakt/{case.fullmakt.id}"' in html


def test_the_fullmakt_page_shows_the_whole_text_as_it_is_signed(client, case, db):
    r = client.get(fullmakt_url(case))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<h2>Fullmakt för budget- och skuldrådgivning</h2>" in html
    assert "Jag, Erik Andersson (19840312-2719), ger Skövde kommun" in html
    assert html.count("<li>") == 3
    assert "gäller i 12 månader från underskriften" in html
    assert "Skövde kommun (org.nr" in html and "Anna Berg" in html
    assert "Signera med BankID" in html and "Återkalla fullmakten" not in html
    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == str(case.fullmakt.id))
    ).all()
    assert "fullmakt.view" in actions


def test_the_fullmakt_page_has_a_partial_for_htmx(client, case):
    html = client.get(fullmakt_url(case), headers=HX).get_data(as_text=True)
    assert "<html" not in html and f'id="fullmakt-{case.fullmakt.id}"' in html


def test_the_text_is_escaped_not_trusted(client, case, db):
    case.fullmakt.text = "# <b>Rubrik</b>\n\n+ <script>x</script>\n+ två\n\nrad 1\nrad & 2"
    db.commit()
    html = client.get(fullmakt_url(case)).get_data(as_text=True)
    assert (
        "<h2>&lt;b&gt;Rubrik&lt;/b&gt;</h2>\n"
        "<ul><li>&lt;script&gt;x&lt;/script&gt;</li><li>två</li></ul>\n"
        "<p>rad 1<br>rad &amp; 2</p>"
    ) in html
    assert "<script>x" not in html


def test_sign_with_bankid(client, tester, wall, case, db, portal):
    fullmakt = case.fullmakt
    poll_url, token = start_signing(client, case)

    partial = client.get(poll_url, headers=HX)
    html = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in html
    assert 'id="bankid-order"' in html and 'hx-trigger="every 1s"' in html and "<svg" in html
    assert bankid.RFA1 in html
    assert f'action="/client/fullmakt/{fullmakt.id}/sign/' in html  # cancel
    page = client.get(poll_url).get_data(as_text=True)
    assert "<html" in page and "Signera fullmakten med BankID" in page

    # The test app shows the fullmakt's text, and only Erik may sign it.
    app_page = tester.get(f"/app?autostarttoken={token}").headers["Location"]
    shown = tester.get(app_page).get_data(as_text=True)
    assert "Fullmakt för budget- och skuldrådgivning" in shown and "Erik Andersson" in shown
    refused = tester.post(app_page, data={"action": "approve", "personnummer": "198001012387"})
    assert refused.status_code == 422
    assert (
        tester.post(app_page, data={"action": "approve", "personnummer": ERIK}).status_code == 303
    )

    wall.advance(2)
    done = client.get(poll_url, headers=HX)
    assert done.status_code == 286
    assert local(portal, done.headers["HX-Redirect"]) == fullmakt_url(case)

    db.expire_all()
    assert fullmakt.status == FullmaktStatus.ACTIVE
    assert fullmakt.valid_from == clock.today() and fullmakt.valid_until is not None
    assert case.status == CaseStatus.ACTIVE
    order = db.get(BankIdOrder, fullmakt.signature_order_id)
    assert order.kind == "sign" and order.person_id == case.person_id
    assert order.user_visible_data == fullmakt.text
    evidence = json.loads(order.completion)
    assert {"signature", "ocspResponse", "user", "device"} <= evidence.keys()
    assert evidence["user"]["personalNumber"] == ERIK
    # The signature covers exactly the text shown on the page.
    verify_signature(evidence["signature"])
    signed = base64.b64decode(evidence["signature"]).decode()
    assert base64.b64encode(fullmakt.text.encode()).decode() in signed
    # The evidence and the order's secret are encrypted under the case's own key.
    raw = db.execute(
        text("SELECT completion, qr_start_secret FROM bankid_orders WHERE id = :id"),
        {"id": order.id.hex if db.bind.dialect.name == "sqlite" else order.id},
    ).one()
    assert "signature" not in raw.completion
    assert {crypto.token_key_id(v) for v in raw} == {case.data_key_id}
    # The person's own data outlives the case: not under its key.
    names = db.execute(
        text("SELECT given_name, surname FROM persons WHERE id = :id"),
        {"id": case.person_id.hex if db.bind.dialect.name == "sqlite" else case.person_id},
    ).one()
    assert case.data_key_id not in {crypto.token_key_id(v) for v in names}

    shown = client.get(fullmakt_url(case)).get_data(as_text=True)
    assert (
        "Fullmakten är signerad och gäller till och med "
        f"{fullmakt.valid_until.isoformat()}." in shown
    )
    assert "Aktiv" in shown and "Återkalla fullmakten" in shown
    assert UNDERSTOOD in shown and "Signera med BankID" not in shown
    assert "Det här är fullmakten som du skrev under med BankID." in shown

    # A late poll of the same order just goes to the fullmakt again.
    again = client.get(poll_url, headers=HX)
    assert again.status_code == 286
    assert local(portal, again.headers["HX-Redirect"]) == fullmakt_url(case)


def test_without_javascript_signing_ends_with_a_redirect(client, tester, wall, case, portal):
    poll_url, token = start_signing(client, case)
    approve_in_app(tester, token)
    wall.advance(2)
    done = client.get(poll_url)
    assert done.status_code == 303
    assert local(portal, done.headers["Location"]) == fullmakt_url(case)


def test_cancel_signing(client, tester, wall, case, portal, db):
    poll_url, token = start_signing(client, case)
    r = client.post(poll_url + "/cancel")
    assert r.status_code == 303 and local(portal, r.headers["Location"]) == fullmakt_url(case)
    html = client.get(fullmakt_url(case)).get_data(as_text=True)
    assert "Signeringen avbröts." in html
    assert tester.get(f"/app?autostarttoken={token}").status_code == 404
    after = client.get(poll_url, headers=HX)
    body = after.get_data(as_text=True)
    assert after.status_code == 286 and bankid.RFA6 in body and "Försök igen" in body
    assert f'action="/client/fullmakt/{case.fullmakt.id}/sign"' in body
    db.expire_all()
    assert case.fullmakt.status == FullmaktStatus.PENDING


def test_signing_again_cancels_the_previous_order(client, tester, wall, case):
    _, first = start_signing(client, case)
    poll_url, second = start_signing(client, case)
    assert tester.get(f"/app?autostarttoken={first}").status_code == 404
    approve_in_app(tester, second)
    wall.advance(2)
    assert client.get(poll_url, headers=HX).status_code == 286


def test_another_citizen_gets_404(client, tester, wall, case, portal, factories):
    poll_url, token = start_signing(client, case)
    other = other_citizen(portal, factories)
    base = fullmakt_url(case)
    assert other.get(base).status_code == 404
    assert other.post(base + "/sign").status_code == 404
    assert other.get(poll_url, headers=HX).status_code == 404
    assert other.post(poll_url + "/cancel").status_code == 404
    assert other.post(base + "/revoke", data={"understood": "y"}).status_code == 404
    # Not even with Erik's browser session binding.
    with client.session_transaction() as sess:
        binding = sess["bankid_binding"]
    with other.session_transaction() as sess:
        sess["bankid_binding"] = binding
    assert other.get(poll_url, headers=HX).status_code == 404
    approve_in_app(tester, token)
    wall.advance(2)
    assert client.get(poll_url, headers=HX).status_code == 286


def test_the_order_is_bound_to_the_browser_session_and_the_fullmakt(
    portal, erik, case, factories, db
):
    mine, theirs = portal.test_client(), portal.test_client()
    login_citizen(mine, erik)
    login_citizen(theirs, erik)  # the same person in another browser
    poll_url, _ = start_signing(mine, case)
    assert theirs.get(poll_url, headers=HX).status_code == 404
    assert theirs.post(poll_url + "/cancel").status_code == 404
    # Erik's second case: its fullmakt page does not poll the first one's order.
    other_town = factories.org(OrgKind.MUNICIPALITY, "Lerums kommun")
    lars = factories.user(other_town, Role.COUNSELLOR, name="Lars Holm")
    second = cases.register_client(
        db,
        lars,
        personnummer=ERIK,
        email="erik@example.se",
        register=LocalTestRegister(),
        today=clock.today(),
    ).case
    db.commit()
    order_id = poll_url.rsplit("/", 1)[1]
    assert mine.get(f"{fullmakt_url(second)}/sign/{order_id}", headers=HX).status_code == 404


def test_an_unknown_fullmakt_is_404(client):
    assert client.get("/fullmakt/00000000-0000-4000-8000-000000000000").status_code == 404


def test_revoke_requires_the_confirmation_and_ends_the_case(client, tester, wall, case, db, portal):
    assert sign(client, tester, wall, case).status_code == 286
    url = fullmakt_url(case) + "/revoke"

    refused = client.post(url, headers=HX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<html" not in html
    assert f'id="revoke-{case.fullmakt.id}"' in html and "Kryssa i rutan" in html
    page = client.post(url)
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)
    db.expire_all()
    assert case.fullmakt.status == FullmaktStatus.ACTIVE

    done = client.post(url, data={"understood": "y"}, headers=HX)
    assert done.status_code == 204
    assert local(portal, json.loads(done.headers["HX-Location"])["path"]) == fullmakt_url(case)
    db.expire_all()
    assert case.fullmakt.status == FullmaktStatus.REVOKED
    assert case.status == CaseStatus.ENDED and case.ended_at is not None
    html = client.get(fullmakt_url(case)).get_data(as_text=True)
    assert "Fullmakten är återkallad." in html and "Återkallad" in html
    # The day of the purge, 30 days after the end (the suite's day is 2026-12-01).
    assert "De uppgifter som har samlats in raderas den 2026-12-31." in html
    assert "Signera med BankID" not in html and UNDERSTOOD not in html
    assert "Avslutat" in client.get("/").get_data(as_text=True)
    # Nothing to sign any more.
    r = client.post(fullmakt_url(case) + "/sign")
    assert r.status_code == 303 and local(portal, r.headers["Location"]) == fullmakt_url(case)


def test_anonymous_visitor_from_the_email_link_signs_in_and_comes_back(portal, tester, wall, case):
    link = fullmakt_service.sign_link(case.fullmakt)
    assert link.endswith(f"/client{fullmakt_url(case)}")
    browser = portal.test_client()
    r = browser.get(fullmakt_url(case))
    assert r.status_code == 303
    to_login = local(portal, r.headers["Location"])
    assert to_login == f"/login?next=/fullmakt/{case.fullmakt.id}"
    login_page = browser.get(to_login).get_data(as_text=True)
    action = re.search(r'action="([^"]*/login/bankid[^"]*)"', login_page).group(1)

    # A first attempt is cancelled in the app: "Försök igen" keeps the way back.
    r = browser.post(local(portal, action.replace("&amp;", "&")))
    html = r.get_data(as_text=True)
    poll_url = local(portal, re.search(r'hx-get="([^"]+)"', html).group(1))
    token = re.search(r"autostarttoken=([0-9a-f-]{36})", html).group(1)
    page = tester.get(f"/app?autostarttoken={token}").headers["Location"]
    tester.post(page, data={"action": "cancel"})
    wall.advance(2)
    failed = browser.get(poll_url, headers=HX).get_data(as_text=True)
    retry = re.search(r'<form method="post" action="([^"]+)">', failed).group(1)
    assert "next=" in retry

    r = browser.post(local(portal, retry.replace("&amp;", "&")))
    html = r.get_data(as_text=True)
    poll_url = local(portal, re.search(r'hx-get="([^"]+)"', html).group(1))
    approve_in_app(tester, re.search(r"autostarttoken=([0-9a-f-]{36})", html).group(1))
    wall.advance(2)
    done = browser.get(poll_url, headers=HX)
    assert done.status_code == 286
    assert local(portal, done.headers["HX-Redirect"]) == fullmakt_url(case)
    assert "Signera med BankID" in browser.get(fullmakt_url(case)).get_data(as_text=True)


def test_the_person_is_known_by_bankid_after_signing(client, tester, wall, case, db):
    sign(client, tester, wall, case)
    people = [p for p in db.scalars(select(Person)) if p.personnummer == ERIK]
    assert len(people) == 1 and people[0].id == case.person_id


def test_the_fullmakt_page_in_english(client, case):
    html = client.get(fullmakt_url(case) + "?lang=en").get_data(as_text=True)
    assert "Sign with BankID" in html and "valid for 12 months from signing" in html
    # The fullmakt itself is what is signed: never translated.
    assert "<h2>Fullmakt för budget- och skuldrådgivning</h2>" in html


def test_starting_bankid_signing_is_rate_limited_per_address(make_app, sim_app, case, erik):
    mounted = DispatcherMiddleware(NotFound(), {"/bankid-sim": sim_app})
    app = make_app(
        "client",
        BANKID_TRANSPORT=httpx.WSGITransport(app=mounted),
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    c = app.test_client()
    login_citizen(c, erik)
    statuses = [
        c.post(fullmakt_url(case) + "/sign", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    # Reading the fullmakt is not limited.
    assert c.get(fullmakt_url(case), environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
