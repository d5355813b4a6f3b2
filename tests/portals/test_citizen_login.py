"""Citizen sign-in with BankID in the client and debtor portals, against the simulator
mounted at /bankid-sim as in the demo (through httpx.WSGITransport)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from shared.identity.models import BankIdOrder, Person
from shared.integrations import bankid
from shared.security.models import AuditEntry
from simulators.bankid import create_app as create_simulator
from tests.factories.bankid import approve_in_app, local

ERIK = "198403122719"
HX = {"HX-Request": "true"}
PORTALS = ["client", "debtor"]


@pytest.fixture
def sim_app(wall):
    return create_simulator()


@pytest.fixture
def tester(sim_app):
    """The tester's browser on the simulator's test BankID app."""
    return sim_app.test_client()


@pytest.fixture
def portal(make_app, sim_app, request):
    mounted = DispatcherMiddleware(NotFound(), {"/bankid-sim": sim_app})
    return make_app(request.param, BANKID_TRANSPORT=httpx.WSGITransport(app=mounted))


def start_login(client) -> tuple[str, str]:
    """Press "Logga in med BankID"; returns the order's poll path and autostart token."""
    r = client.post("/login/bankid")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    poll_url = re.search(r'hx-get="([^"]*/login/bankid/[0-9a-f-]{36})"', html).group(1)
    assert r.headers["HX-Push-Url"] == poll_url
    poll_url = local(client.application, poll_url)
    token = re.search(r'href="/bankid-sim/app\?autostarttoken=([0-9a-f-]{36})"', html).group(1)
    return poll_url, token


@pytest.mark.parametrize("portal", PORTALS, indirect=True)
def test_login_page_offers_bankid(portal):
    html = portal.test_client().get("/login").get_data(as_text=True)
    assert "Logga in med BankID" in html
    root = portal.config["APPLICATION_ROOT"]
    assert 'method="post"' in html and f'action="{root}/login/bankid"' in html


@pytest.mark.parametrize("portal", PORTALS, indirect=True)
def test_full_login_through_the_simulator(portal, tester, wall, db):
    client = portal.test_client()
    poll_url, token = start_login(client)

    partial = client.get(poll_url, headers=HX)
    html = partial.get_data(as_text=True)
    assert partial.status_code == 200
    assert "<html" not in html and 'id="bankid-order"' in html
    assert 'hx-trigger="every 1s"' in html and "<svg" in html
    assert bankid.RFA1 in html
    assert "Öppna BankID på den här enheten" in html
    assert partial.headers["Cache-Control"] == "no-store"

    # The QR code changes every second; BankID is asked only every other second.
    wall.advance(1)
    assert client.get(poll_url, headers=HX).get_data(as_text=True) != html

    approve_in_app(tester, token)
    wall.advance(2)
    done = client.get(poll_url, headers=HX)
    assert done.status_code == 286
    assert local(portal, done.headers["HX-Redirect"]) == "/"

    home = client.get("/")
    assert home.status_code == 200
    assert "Erik Andersson" in home.get_data(as_text=True)

    person = db.scalars(select(Person).where(Person.given_name.is_not(None))).all()
    person = next(p for p in person if p.personnummer == ERIK)
    assert person.last_login_at is not None
    actions = list(
        db.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == str(person.id)))
    )
    assert "person.login" in actions and "person.view" in actions
    order = db.scalars(select(BankIdOrder).where(BankIdOrder.person_id == person.id)).one()
    assert order.status == "complete" and order.portal == portal.config["PORTAL"]
    assert order.completion is None  # auth orders keep no signature evidence


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_polling_waits_two_seconds_between_collects(portal, tester, wall):
    client = portal.test_client()
    poll_url, token = start_login(client)
    client.get(poll_url, headers=HX)  # collects now
    approve_in_app(tester, token)
    wall.advance(1)
    assert client.get(poll_url, headers=HX).status_code == 200  # answered from the row
    wall.advance(1)
    assert client.get(poll_url, headers=HX).status_code == 286


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_without_javascript_the_same_url_gives_the_full_page(portal, tester, wall):
    client = portal.test_client()
    poll_url, token = start_login(client)
    page = client.get(poll_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'id="bankid-order"' in html
    assert "Uppdatera" in html
    approve_in_app(tester, token)
    wall.advance(2)
    done = client.get(poll_url)
    assert done.status_code == 303 and local(portal, done.headers["Location"]) == "/"


@pytest.mark.parametrize("portal", ["debtor"], indirect=True)
def test_another_browser_cannot_use_the_order(portal, tester, wall):
    mine, theirs = portal.test_client(), portal.test_client()
    poll_url, token = start_login(mine)
    start_login(theirs)
    assert theirs.get(poll_url, headers=HX).status_code == 404
    assert theirs.post(poll_url + "/cancel").status_code == 404
    approve_in_app(tester, token)
    wall.advance(2)
    assert theirs.get(poll_url, headers=HX).status_code == 404
    assert mine.get(poll_url, headers=HX).status_code == 286


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_orders_are_bound_to_their_portal(portal, make_app, sim_app):
    client = portal.test_client()
    poll_url, _ = start_login(client)
    with client.session_transaction() as sess:
        binding = sess["bankid_binding"]
    other = make_app("debtor").test_client()
    with other.session_transaction() as sess:
        sess["bankid_binding"] = binding
    assert other.get(poll_url, headers=HX).status_code == 404


@pytest.mark.parametrize("portal", PORTALS, indirect=True)
def test_anonymous_home_redirects_to_login(portal):
    r = portal.test_client().get("/")
    assert r.status_code == 303
    assert local(portal, r.headers["Location"]).startswith("/login?next=")


@pytest.mark.parametrize("portal", ["debtor"], indirect=True)
def test_after_login_the_person_returns_to_the_page_asked_for(portal, tester, wall):
    client = portal.test_client()
    to_login = local(portal, client.get("/?tab=1").headers["Location"])
    login_page = client.get(to_login).get_data(as_text=True)
    action = re.search(r'action="([^"]*/login/bankid[^"]*)"', login_page).group(1)
    r = client.post(local(portal, action.replace("&amp;", "&")))
    html = r.get_data(as_text=True)
    poll_url = local(portal, re.search(r'hx-get="([^"]+)"', html).group(1))
    token = re.search(r"autostarttoken=([0-9a-f-]{36})", html).group(1)
    approve_in_app(tester, token)
    wall.advance(2)
    done = client.get(poll_url, headers=HX)
    assert local(portal, done.headers["HX-Redirect"]) == "/?tab=1"


@pytest.mark.parametrize("portal", ["client"], indirect=True)
@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_next_cannot_leave_the_portal(portal, tester, wall, target):
    client = portal.test_client()
    r = client.post("/login/bankid", query_string={"next": target})
    html = r.get_data(as_text=True)
    poll_url = local(portal, re.search(r'hx-get="([^"]+)"', html).group(1))
    approve_in_app(tester, re.search(r"autostarttoken=([0-9a-f-]{36})", html).group(1))
    wall.advance(2)
    done = client.get(poll_url, headers=HX)
    assert local(portal, done.headers["HX-Redirect"]) == "/"


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_cancel(portal, tester, wall, db):
    client = portal.test_client()
    poll_url, token = start_login(client)
    r = client.post(poll_url + "/cancel")
    assert r.status_code == 303 and local(portal, r.headers["Location"]) == "/login"
    assert "Inloggningen avbröts." in client.get("/login").get_data(as_text=True)
    # Gone at BankID: the test app cannot open it any more.
    assert tester.get(f"/app?autostarttoken={token}").status_code == 404
    order_id = poll_url.rsplit("/", 1)[1]
    order = db.scalars(select(BankIdOrder).where(BankIdOrder.order_ref.is_not(None))).all()
    order = next(o for o in order if str(o.id) == order_id)
    assert (order.status, order.hint_code) == ("failed", "userCancel")
    after = client.get(poll_url, headers=HX)
    assert after.status_code == 286 and bankid.RFA6 in after.get_data(as_text=True)
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("portal", ["debtor"], indirect=True)
def test_cancel_in_the_app_shows_the_message_and_a_retry(portal, tester, wall):
    client = portal.test_client()
    poll_url, token = start_login(client)
    page = tester.get(f"/app?autostarttoken={token}").headers["Location"]
    tester.get(page)
    wall.advance(2)
    assert bankid.RFA9 in client.get(poll_url, headers=HX).get_data(as_text=True)
    tester.post(page, data={"action": "cancel"})
    wall.advance(2)
    failed = client.get(poll_url, headers=HX)
    html = failed.get_data(as_text=True)
    assert failed.status_code == 286
    assert bankid.RFA6 in html and "Försök igen" in html and "hx-trigger" not in html


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_a_new_login_cancels_the_previous_order(portal, tester, wall):
    client = portal.test_client()
    _, first_token = start_login(client)
    start_login(client)
    assert tester.get(f"/app?autostarttoken={first_token}").status_code == 404


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_bankid_unreachable_shows_rfa5(make_app, portal):
    def down(request):
        raise httpx.ConnectError("refused", request=request)

    app = make_app("client", BANKID_TRANSPORT=httpx.MockTransport(down))
    r = app.test_client().post("/login/bankid")
    assert r.status_code == 200 and bankid.RFA5 in r.get_data(as_text=True)


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_logout(portal, tester, wall):
    client = portal.test_client()
    poll_url, token = start_login(client)
    approve_in_app(tester, token)
    wall.advance(2)
    client.get(poll_url, headers=HX)
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("portal", ["client"], indirect=True)
def test_second_login_finds_the_same_person(portal, tester, wall, db):
    for _ in range(2):
        client = portal.test_client()
        poll_url, token = start_login(client)
        approve_in_app(tester, token)
        wall.advance(2)
        assert client.get(poll_url, headers=HX).status_code == 286
    people = [p for p in db.scalars(select(Person)) if p.personnummer == ERIK]
    assert len(people) == 1


@pytest.mark.parametrize("name", PORTALS)
def test_starting_a_bankid_sign_in_is_rate_limited_per_address(make_app, sim_app, name):
    """Each start is an order at BankID: one address gets the sign-in limit (10 a
    minute, the limit of every portal's sign-in POSTs), however many browser sessions it
    uses; another address is not held back."""
    mounted = DispatcherMiddleware(NotFound(), {"/bankid-sim": sim_app})
    app = make_app(
        name,
        BANKID_TRANSPORT=httpx.WSGITransport(app=mounted),
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )

    def start(address: str) -> int:
        client = app.test_client()  # a new browser session each time
        return client.post("/login/bankid", environ_base={"REMOTE_ADDR": address}).status_code

    assert [start("10.1.2.3") for _ in range(11)] == [200] * 10 + [429]
    assert start("10.1.2.4") == 200
