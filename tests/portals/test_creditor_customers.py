"""Kundfrågor in the creditor portal, used as a creditor agent would: search by number,
dates and answered/unanswered; yes rows show the agent and the principal and expand to
the valid fullmakter (fetch, unsubscribe, subscribe); no rows show only the number and
the times and can be changed to yes; Händelser lists the notices. Another organisation
sees nothing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from stdnum import luhn

from portals.creditor.views import customers
from shared.core import clock, jobs
from shared.core.actor import Actor
from shared.counselling import answers, events, inquiries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Answer, Case, Debt, Inquiry, InquiryStatus
from shared.creditor_link import (
    delivery as inquiry_delivery,
)
from shared.creditor_link import (
    fullmakt_events,
    webhook_endpoints,
    webhooks,
)
from shared.creditor_link.models import CreditorNotice, FullmaktSubscription, WebhookDelivery
from shared.identity.models import Creditor, Organisation, OrgKind, Role, User
from shared.integrations import webhook_http
from shared.security.models import AuditEntry
from tests.factories import (
    directory_entry,
    login_staff,
    redirect_target,
    register,
    run_jobs,
    sign,
    urls_in,
)
from tests.factories.worlds import World

ERIK = "198403122719"  # answers yes
ANNA = "199105273420"  # answers no
LARS = "196708094153"  # not answered yet
HX = {"HX-Request": "true"}


def _case(db, counsellor, pnr):
    case = register(db, counsellor, pnr=pnr, email=f"{pnr}@example.se").case
    sign(db, case)
    return case


@dataclass
class CustomersWorld(World):
    """Three signed cases in Skövde with inquiries to Banken AB: Erik's answered yes,
    Anna Johansson's no, Lars's not yet (``yes``, ``no``, ``open``); the bank's agent
    Sara Ek is signed in."""

    municipality: Organisation
    anna: User
    erik: Case
    anna_j: Case
    lars: Case
    bank: Organisation
    entry: Creditor
    agency: Organisation
    agent: User
    admin: User
    outsider: User
    app: Flask
    client: FlaskClient
    yes: Inquiry
    no: Inquiry
    open: Inquiry


@pytest.fixture
def world(db, factories, make_app) -> CustomersWorld:
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    anna = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    erik, anna_j, lars = (_case(db, anna, pnr) for pnr in (ERIK, ANNA, LARS))
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    entry = directory_entry(db, bank)
    agency = factories.org(OrgKind.AGENCY, "Andra Inkasso AB")
    directory_entry(db, agency)
    agent = factories.user(bank, Role.CREDITOR_AGENT, name="Sara Ek")
    admin = factories.user(bank, Role.CREDITOR_ADMIN, name="Olle Admin")
    outsider = factories.user(agency, Role.CREDITOR_AGENT, name="Per Annan")
    sent = {}
    for name, case in (("yes", erik), ("no", anna_j), ("open", lars)):
        [inquiry] = inquiries.send_inquiries(db, anna, case, [entry.id])
        inquiry_delivery.deliver(db, inquiry.id)
        sent[name] = inquiry
    debt = answers.parse_debt(
        {"kind": "loan", "capital": "1 000", "reference": "L-9"}, creditor_name="Banken AB"
    )
    answers.answer(
        db,
        sent["yes"],
        answer=Answer.YES,
        debts=[debt],
        source="form",
        actor=Actor.user(agent),
    )
    answers.answer(
        db, sent["no"], answer=Answer.NO, debts=[], source="form", actor=Actor.user(agent)
    )
    run_jobs(db, jobs.FOLLOW_YES_ANSWER)
    app = make_app("creditor")
    client = app.test_client()
    login_staff(client, agent)
    return CustomersWorld(
        municipality=municipality,
        anna=anna,
        erik=erik,
        anna_j=anna_j,
        lars=lars,
        bank=bank,
        entry=entry,
        agency=agency,
        agent=agent,
        admin=admin,
        outsider=outsider,
        app=app,
        client=client,
        **sent,
    )


def client_as(world, user):
    client = world.app.test_client()
    login_staff(client, user)
    return client


def with_endpoint(world, db, monkeypatch) -> list[dict]:
    """Give the bank a webhook endpoint; what its system receives is collected (the
    deliveries run in-process after each request, without the network)."""
    webhook_endpoints.add_endpoint(db, world.admin, "https://bank.example/hooks")
    db.commit()
    received = []

    def post(url, secrets, message_id, body, http=None, *, pin=None):
        received.append(json.loads(body))
        return webhook_http.Result(204, 3, None)

    monkeypatch.setattr(webhooks, "post", post)
    return received


def search(client, **params):
    """The search is a POST: the personnummer goes in no URL."""
    response = client.post("/customers", data=params, headers=HX)
    return response, response.get_data(as_text=True)


def digits_in(text: str) -> set[str]:
    return {text.replace("-", "")} | set(re.findall(r"\d{10,12}", text.replace("-", "")))


def digits_of(pnr: str) -> set[str]:
    """A personnummer as it could appear in a URL: 12 or 10 digits."""
    return {pnr, pnr[2:]}


# -- search -------------------------------------------------------------------------------


def test_the_page_and_its_nav_link(world):
    page = world.client.get("/customers")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'href="/creditor/customers"' in html
    assert "Sök på ett personnummer" in html and 'id="customers"' in html


def test_a_yes_row_shows_the_agent_and_the_principal(world, db):
    r, html = search(world.client, number="19840312-2719")
    inquiry = world.yes
    assert r.status_code == 200 and "<html" not in html and 'id="customers"' in html
    assert f'id="customer-{inquiry.id}"' in html
    assert "19840312-2719" in html and "Erik Andersson" in html
    assert "Skövde kommun" in html and "Anna Berg" in html
    assert inquiry.delivered_at.astimezone(clock.STOCKHOLM).strftime("%Y-%m-%d") in html
    assert f"/customers/inquiries/{inquiry.id}/fullmakter" in html  # expands
    assert str(world.no.id) not in html and "Johansson" not in html  # only Erik's
    entry = db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "customer_inquiries.searched",
            AuditEntry.actor_id == str(world.agent.id),
        )
    )
    assert entry.details["named"] == [str(inquiry.id)]


def test_a_no_row_shows_only_the_number_and_the_times(world):
    r, html = search(world.client, number=ANNA)
    inquiry = world.no
    assert r.status_code == 200 and f'id="customer-{inquiry.id}"' in html
    assert "19910527-3420" in html and "Besvarad: ingen kundrelation" in html
    for secret in ("Johansson", "Anna J", "Skövde kommun", "Anna Berg", "/fullmakter"):
        assert secret not in html
    assert f"/inquiries/{inquiry.id}?change=yes" in html and "Svara ja" in html


def test_search_by_dates_and_answered_or_not(world):
    c = world.client
    today = clock.today().isoformat()
    _r, html = search(c, **{"from": today, "to": today})
    for name in ("yes", "no", "open"):
        assert f'id="customer-{getattr(world, name).id}"' in html
    _r, html = search(c, **{"from": today, "to": today, "show": "answered"})
    assert f'id="customer-{world.open.id}"' not in html
    assert f'id="customer-{world.yes.id}"' in html and f'id="customer-{world.no.id}"' in html
    _r, html = search(c, **{"from": today, "show": "unanswered"})
    assert f'id="customer-{world.open.id}"' in html and "Nilsson" not in html
    assert f'id="customer-{world.yes.id}"' not in html
    assert f'/inquiries/{world.open.id}"' in html  # to the answer page
    tomorrow = clock.today().fromordinal(clock.today().toordinal() + 1).isoformat()
    _r, html = search(c, **{"from": tomorrow})
    assert "Inga kundfrågor matchar" in html
    _r, html = search(c, number=LARS, show="answered")
    assert "Inga kundfrågor matchar" in html


def test_bad_input_is_a_422_at_the_field(world):
    r, html = search(world.client, number="19840312-2718")
    assert r.status_code == 422 and 'id="search-number-error"' in html
    assert "Kontrollsiffran" in html and "Erik" not in html
    r, html = search(world.client, **{"from": "2026-13-01"})
    assert r.status_code == 422 and 'id="search-from-error"' in html
    r, html = search(world.client, **{"from": "2026-03-02", "to": "2026-03-01"})
    assert r.status_code == 422 and "före startdatumet" in html


def test_an_organisationsnummer_finds_no_private_person(world):
    base = "556677889"
    r, html = search(world.client, number=f"{base[:6]}-{base[6:]}{luhn.calc_check_digit(base)}")
    assert r.status_code == 200 and "privatpersoner" in html and "<table" not in html


def test_another_organisation_sees_nothing(world):
    other = client_as(world, world.outsider)
    _r, html = search(other, number=ERIK)
    assert "Inga kundfrågor matchar" in html and "Erik" not in html
    yes = world.yes
    assert other.get(f"/customers/inquiries/{yes.id}/fullmakter").status_code == 404
    fullmakt = world.erik.fullmakt
    for action in ("fetch", "unsubscribe", "subscribe"):
        url = f"/customers/inquiries/{yes.id}/fullmakter/{fullmakt.id}/{action}"
        assert other.post(url).status_code == 404


def test_no_personnummer_in_any_url_of_the_search(world):
    """The search is a POST, so is every later page; the number is in no URL, link or
    form action, and a GET with the number in its query searches nothing."""
    c = world.client
    r, html = search(c, number="19840312-2719")
    assert r.status_code == 200 and f'id="customer-{world.yes.id}"' in html
    assert "HX-Push-Url" not in r.headers
    assert 'method="post"' in html and 'hx-get="/creditor/customers"' not in html
    for url in urls_in(html):
        assert not digits_of(ERIK) & digits_in(url), url
    old_link = c.get("/customers", query_string={"number": ERIK}).get_data(as_text=True)
    assert "Erik Andersson" not in old_link and "Sök på ett personnummer" in old_link
    # the way back from the principal's fullmakter posts the number
    page = c.get(f"/customers/inquiries/{world.yes.id}/fullmakter").get_data(as_text=True)
    back = re.search(r'<form method="post" action="(/creditor/customers)">(.*?)</form>', page, re.S)
    assert back is not None and 'name="number" value="19840312-2719"' in back.group(2)
    for url in urls_in(page):
        assert not digits_of(ERIK) & digits_in(url), url


def test_the_results_page_by_post(world, monkeypatch):
    """A page at a time, newest first; "Visa äldre" posts the same search with the
    position of the last row shown (no number in the URL), and no row is shown twice."""
    monkeypatch.setattr(customers, "PAGE_SIZE", 1)
    c = world.client
    today = clock.today().isoformat()
    seen, data = [], {"from": today, "to": today, "show": "all"}
    while True:
        r, html = search(c, **data)
        assert r.status_code == 200
        assert ("Äldre kundfrågor" in html) == ("before" in data)  # a later page says so
        seen += re.findall(r'<tbody id="customer-([0-9a-f-]+)">', html)
        forms = re.findall(
            r'<form method="post" action="/creditor/customers"[^>]*>(.*?)</form>', html, re.S
        )
        more = next((f for f in forms if "Visa äldre" in f), None)
        if more is None:
            break
        data = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', more))
        data.pop("csrf_token", None)
        assert data["from"] == today and data["number"] == "" and data["before"]
    assert len(seen) == len(set(seen)) == 3
    assert set(seen) == {str(getattr(world, name).id) for name in ("yes", "no", "open")}
    assert search(c, before="nonsense", **{"from": today})[0].status_code == 400


# -- the expanded yes row -------------------------------------------------------------------


def test_expand_shows_the_valid_fullmakter(world, db):
    c, yes = world.client, world.yes
    fullmakt = world.erik.fullmakt
    r = c.get(f"/customers/inquiries/{yes.id}/fullmakter", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and f'id="fullmakter-{yes.id}"' in html
    assert fullmakt.code in html and fullmakt.valid_until.isoformat() in html
    assert "Budget- och skuldrådgivning" in html and "Prenumererar" in html
    assert "Avprenumerera" in html
    assert "ingen webhook-adress" in html and "disabled" in html  # fetch needs an endpoint
    page = c.get(f"/customers/inquiries/{yes.id}/fullmakter")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "customer_fullmakter.viewed", AuditEntry.subject_id == str(yes.id)
        )
    )
    # A no or an unanswered inquiry expands to nothing.
    for name in ("no", "open"):
        assert (
            c.get(f"/customers/inquiries/{getattr(world, name).id}/fullmakter").status_code == 404
        )


def test_fetch_is_refused_without_an_endpoint(world, db):
    c, yes = world.client, world.yes
    url = f"/customers/inquiries/{yes.id}/fullmakter/{world.erik.fullmakt.id}/fetch"
    r = c.post(url, headers=HX)  # refused: a flash message on the fullmakter's page
    assert r.status_code == 204
    assert redirect_target(r).endswith(f"/customers/inquiries/{yes.id}/fullmakter")
    page = c.get(f"/customers/inquiries/{yes.id}/fullmakter").get_data(as_text=True)
    assert 'class="flash flash-error"' in page and "Organisationen har ingen webhook-adress" in page
    assert db.scalars(select(WebhookDelivery)).all() == []


def test_fetch_sends_the_fullmakt_to_the_creditors_system(world, db, monkeypatch):
    received = with_endpoint(world, db, monkeypatch)
    c, yes, fullmakt = world.client, world.yes, world.erik.fullmakt
    expanded = c.get(f"/customers/inquiries/{yes.id}/fullmakter", headers=HX)
    assert "disabled" not in expanded.get_data(as_text=True)
    r = c.post(f"/customers/inquiries/{yes.id}/fullmakter/{fullmakt.id}/fetch", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "skickas till ert system" in html
    db.expire_all()
    [delivery] = db.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_type == "fullmakt.sent")
    ).all()
    assert delivery.organisation_id == world.bank.id
    [body] = [b for b in received if b["type"] == "fullmakt.sent"]
    assert body["data"]["code"] == fullmakt.code
    assert body["data"]["principal"]["personal_number"] == ERIK


def test_unsubscribe_stops_events_and_subscribe_resumes(world, db):
    c, yes, fullmakt = world.client, world.yes, world.erik.fullmakt
    base = f"/customers/inquiries/{yes.id}/fullmakter/{fullmakt.id}"
    r = c.post(f"{base}/unsubscribe", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "inte längre" in html and ">Prenumerera<" in html
    db.expire_all()
    sub = db.scalar(
        select(FullmaktSubscription).where(FullmaktSubscription.fullmakt_id == fullmakt.id)
    )
    assert not sub.active and sub.ended_by == Actor("user", str(world.agent.id))
    fullmakt_events.fan_out(db, events.event_for(db, fullmakt, "fullmakt.expiring"))
    assert db.scalars(select(CreditorNotice)).all() == []  # no event reaches it
    r = c.post(f"{base}/subscribe")  # without JavaScript: back to the page
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/inquiries/{yes.id}/fullmakter")
    db.expire_all()
    assert sub.active and sub.source == "portal"
    fullmakt_events.fan_out(db, events.event_for(db, fullmakt, "fullmakt.expiring"))
    assert len(db.scalars(select(CreditorNotice)).all()) == 1


# -- a no changed to yes ----------------------------------------------------------------------


def test_svara_ja_opens_the_answer_form_in_change_mode(world):
    c, no = world.client, world.no
    html = c.get(f"/inquiries/{no.id}?change=yes").get_data(as_text=True)
    assert "Ändra svaret till ja" in html and 'name="change" value="yes"' in html
    assert 'type="radio"' not in html and 'name="debts[0].capital"' in html
    assert "ingen webhook-adress" in html and 'name="send_fullmakt"' not in html
    plain = c.get(f"/inquiries/{no.id}").get_data(as_text=True)
    assert 'name="change"' not in plain and "Svara ja i stället" in plain
    # an inquiry answered yes has nothing to change
    assert 'name="change"' not in c.get(f"/inquiries/{world.yes.id}?change=yes").get_data(
        as_text=True
    )


def test_no_to_yes_stores_debts_subscribes_sends_and_reaches_the_report(
    world, db, make_app, monkeypatch
):
    received = with_endpoint(world, db, monkeypatch)
    c, no = world.client, world.no
    form = c.get(f"/inquiries/{no.id}?change=yes").get_data(as_text=True)
    assert 'name="send_fullmakt"' in form and "checked" in form
    r = c.post(
        f"/inquiries/{no.id}/answer",
        headers=HX,
        data={
            "change": "yes",
            "answer": "yes",
            "send_fullmakt": "1",
            "debts[0].kind": "card",
            "debts[0].capital": "2 500",
            "debts[0].reference": "K-7",
        },
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "ändrat till ja" in html
    db.expire_all()
    assert no.answer == Answer.YES and no.status == InquiryStatus.ANSWERED
    assert no.changed_at is not None
    [debt] = db.scalars(select(Debt).where(Debt.inquiry_id == no.id)).all()
    assert debt.capital_ore == 250_000 and debt.reference == "K-7"
    assert db.scalar(
        select(FullmaktSubscription).where(
            FullmaktSubscription.fullmakt_id == world.anna_j.fullmakt.id
        )
    ).active
    assert [
        b["data"]["principal"]["personal_number"] for b in received if b["type"] == "fullmakt.sent"
    ] == [ANNA]
    # now a yes row: the name may be shown
    _r, row = search(c, number=ANNA)
    assert "Anna Johansson" in row and "Ändrat till ja" in row
    # the counsellor's report shows the yes
    counsellor = make_app("counsellor").test_client()
    login_staff(counsellor, world.anna)
    report = counsellor.get(f"/cases/{world.anna_j.id}/report").get_data(as_text=True)
    assert "Ja: 1 skuld" in report and "Ja: 1 skulder" not in report


def test_no_to_yes_without_sending(world, db, monkeypatch):
    received = with_endpoint(world, db, monkeypatch)
    no = world.no
    r = world.client.post(
        f"/inquiries/{no.id}/answer",
        data={"change": "yes", "answer": "yes", "debts[0].kind": "loan", "debts[0].capital": "10"},
    )
    assert r.status_code == 303
    db.expire_all()
    assert no.answer == Answer.YES
    assert [b for b in received if b["type"] == "fullmakt.sent"] == []
    assert (
        db.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_type == "fullmakt.sent")
        ).all()
        == []
    )


def test_change_mode_needs_debts_and_a_yes(world, db):
    c, no = world.client, world.no
    r = c.post(f"/inquiries/{no.id}/answer", headers=HX, data={"change": "yes", "answer": "yes"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Fyll i minst en skuld" in html
    assert 'name="change" value="yes"' in html  # still in change mode
    assert 'id="debts-error"' in html  # at the list of debts
    r = c.post(f"/inquiries/{no.id}/answer", headers=HX, data={"change": "yes", "answer": "no"})
    assert r.status_code == 422 and "bara ändras till ja" in r.get_data(as_text=True)
    assert re.search(r'<p class="error" role="alert">Svaret kan bara ändras till ja', r.text)
    db.expire_all()
    assert no.answer == Answer.NO and no.changed_at is None


# -- Händelser ---------------------------------------------------------------------------------


def test_notices_are_listed_counted_and_marked_read(world, db):
    fullmakt = world.erik.fullmakt
    fullmakt_service.revoke(db, world.erik.person, fullmakt)
    fullmakt_events.fan_out(
        db, events.event_for(db, fullmakt, "fullmakt.revoked", reason="revoked_by_principal")
    )
    db.commit()
    [notice] = db.scalars(select(CreditorNotice)).all()
    c = world.client
    page = c.get("/notices").get_data(as_text=True)
    assert "Fullmakten har återkallats av fullmaktsgivaren" in page and fullmakt.code in page
    assert "återkallad av fullmaktsgivaren" in page and "Oläst" in page
    assert 'Händelser<span id="notice-count"> <span class="badge badge-warn">1' in page  # nav
    assert "Erik" not in page.split("<main", 1)[1]
    other = client_as(world, world.outsider)
    assert fullmakt.code not in other.get("/notices").get_data(as_text=True)
    assert other.post(f"/notices/{notice.id}/read").status_code == 404
    r = c.post(f"/notices/{notice.id}/read", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="notices"' in html and "Oläst" not in html
    assert 'id="notice-count" hx-swap-oob="true"></span>' in html
    db.expire_all()
    assert notice.read_at is not None
    assert 'class="badge badge-warn"' not in c.get("/notices").get_data(as_text=True)


# -- the counsellor shortens the validity ----------------------------------------------------------


def test_the_counsellor_shortens_the_validity_and_the_creditor_is_told(world, db, make_app):
    counsellor = make_app("counsellor").test_client()
    login_staff(counsellor, world.anna)
    case = world.erik
    end = case.fullmakt.valid_until
    page = counsellor.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Ändra giltighet" in page and f'max="{end.isoformat()}"' in page
    url = f"/cases/{case.id}/validity"
    later = end.fromordinal(end.toordinal() + 1).isoformat()
    r = counsellor.post(url, headers=HX, data={"valid_until": later})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="case-{case.id}"' in html and "bara kortas" in html
    assert 'aria-invalid="true"' in html
    r = counsellor.post(url, headers=HX, data={"valid_until": "igår"})
    assert r.status_code == 422 and "ÅÅÅÅ-MM-DD" in r.get_data(as_text=True)
    shorter = clock.today().fromordinal(clock.today().toordinal() + 10)
    r = counsellor.post(url, data={"valid_until": shorter.isoformat()})
    assert r.status_code == 303
    db.expire_all()
    assert case.fullmakt.valid_until == shorter
    assert "Giltighetstiden kortades" in counsellor.get(f"/cases/{case.id}").get_data(as_text=True)
    # The fan-out ran after the request's commit: the bank (no endpoint) has a notice.
    [notice] = db.scalars(select(CreditorNotice)).all()
    assert notice.event_type == "fullmakt.validity_changed"
    assert notice.organisation_id == world.bank.id
    assert notice.data["previous_valid_until"] == end.isoformat()
    notices_page = world.client.get("/notices").get_data(as_text=True)
    assert "Fullmaktens giltighetstid har kortats" in notices_page
    assert f"Tidigare till och med {end.isoformat()}" in notices_page
