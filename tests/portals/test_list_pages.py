"""Every list is a page: 25 rows, newest first, "Nästa sida" to the next and "Första
sidan" back; its tabs filter in SQL and show their counts, capped ("1 000+"); a
malformed cursor is a 400; a list's audit entry names the rows on its page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from shared.core import clock, lists
from shared.counselling.models import Answer, Case, Inquiry, InquiryStatus
from shared.identity.models import Channel, Organisation, OrgKind, Role, User
from shared.security.models import AuditEntry
from tests.factories import Factories, directory_entry, login_staff
from tests.factories.worlds import World

HX = {"HX-Request": "true"}
NEXT = re.compile(r'href="([^"]*)"[^>]*rel="next"')
FIRST = re.compile(r'href="([^"]*)"[^>]*rel="first"')


@dataclass
class ListWorld(World):
    """Skövde: Anna's 30 cases, one a day (the newest 3 pending, the rest active and
    asking Banken AB, the 10 newest of them answered no); Maria is the municipality's
    admin, Sara Banken's agent."""

    municipality: Organisation
    anna: User
    cases: list[Case]  # newest first
    inquiries: list[Inquiry]  # newest first
    counsellor: FlaskClient
    admin: FlaskClient
    creditor: FlaskClient


@pytest.fixture
def world(db, factories: Factories, make_app) -> ListWorld:
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    anna = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    maria = factories.user(municipality, Role.MUNICIPALITY_ADMIN, name="Maria Sjöberg")
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    entry = directory_entry(db, bank, Channel.WEB)
    sara = factories.user(bank, Role.CREDITOR_AGENT, name="Sara Ek")
    cases, asked = [], []
    start = clock.at("2026-11-01 09:00")
    for n in range(30):  # one a day, the newest last
        with clock.frozen(start + timedelta(days=n)):
            case = factories.case(anna, signed=n < 27)
            inquiry = factories.inquiry(case, entry, delivered=True) if n < 27 else None
        if inquiry is not None and n >= 17:
            inquiry.status, inquiry.answer = InquiryStatus.ANSWERED, Answer.NO
            inquiry.answered_at = clock.now()
        cases.insert(0, case)
        if inquiry is not None:
            asked.insert(0, inquiry)
    db.commit()
    clients = {}
    for name, portal, user in [
        ("counsellor", "counsellor", anna),
        ("admin", "counsellor", maria),
        ("creditor", "creditor", sara),
    ]:
        clients[name] = make_app(portal).test_client()
        login_staff(clients[name], user)
    return ListWorld(municipality=municipality, anna=anna, cases=cases, inquiries=asked, **clients)


def ids_in(html: str, prefix: str = "") -> list[str]:
    return re.findall(
        rf"{prefix}([0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}})", html
    )


def link(pattern: re.Pattern, html: str, root: str) -> str:
    match = pattern.search(html)
    assert match, f"no {pattern.pattern} link"
    return match.group(1).replace("&amp;", "&").removeprefix(root)


def badge(html: str, label: str) -> str:
    match = re.search(rf"{label}\s*<span class=\"badge\">([^<]*)</span>", html)
    assert match, f"no count at {label}"
    return match.group(1)


def test_the_counsellors_case_list_pages_newest_first(world):
    first = world.counsellor.get("/")
    assert first.status_code == 200
    assert ids_in(first.text, "/counsellor/cases/") == [str(c.id) for c in world.cases[:25]]
    assert badge(first.text, "Alla") == "30" and badge(first.text, "Aktiva") == "27"
    assert badge(first.text, "Väntar på underskrift") == "3"
    assert badge(first.text, "Avslutade") == "0"
    assert 'rel="first"' not in first.text
    second = world.counsellor.get(link(NEXT, first.text, "/counsellor"), headers=HX)
    assert second.status_code == 200 and "<html" not in second.text  # the list's partial
    assert ids_in(second.text, "/counsellor/cases/") == [str(c.id) for c in world.cases[25:]]
    assert 'rel="next"' not in second.text
    assert link(FIRST, second.text, "/counsellor") == "/?status=all"


def test_a_tab_filters_the_cases_and_pages_within_it(world):
    pending = world.counsellor.get("/?status=pending")
    assert ids_in(pending.text, "/counsellor/cases/") == [str(c.id) for c in world.cases[:3]]
    assert 'rel="next"' not in pending.text
    active = world.counsellor.get("/?status=active")
    assert ids_in(active.text, "/counsellor/cases/") == [str(c.id) for c in world.cases[3:28]]
    later = link(NEXT, active.text, "/counsellor")
    assert "status=active" in later
    rest = world.counsellor.get(later).text
    assert ids_in(rest, "/counsellor/cases/") == [str(c.id) for c in world.cases[28:]]
    assert world.counsellor.get("/?status=ended").status_code == 200
    assert world.counsellor.get("/?status=nonsense").status_code == 200  # all of them


def test_the_municipality_admin_pages_the_cases_and_the_overview_counts_them(world):
    first = world.admin.get("/admin/cases")
    assert ids_in(first.text, "/counsellor/admin/cases/") == [str(c.id) for c in world.cases[:25]]
    second = world.admin.get(link(NEXT, first.text, "/counsellor"))
    assert ids_in(second.text, "/counsellor/admin/cases/") == [str(c.id) for c in world.cases[25:]]
    overview = world.admin.get("/").text
    assert "<dd>3</dd>" in overview and "<dd>27</dd>" in overview


def test_the_inbox_pages_a_tab_and_counts_every_tab(world):
    first = world.creditor.get("/?status=all")
    assert ids_in(first.text, 'id="inbox-') == [str(i.id) for i in world.inquiries[:25]]
    counts = {tab: badge(first.text, tab) for tab in ("Obesvarade", "Besvarade", "Alla")}
    assert counts == {"Obesvarade": "17", "Besvarade": "10", "Alla": "27"}
    second = world.creditor.get(link(NEXT, first.text, "/creditor"), headers=HX)
    assert ids_in(second.text, 'id="inbox-') == [str(i.id) for i in world.inquiries[25:]]
    assert link(FIRST, second.text, "/creditor") == "/?status=all"
    unanswered = world.creditor.get("/")  # the inbox opens on what is to answer
    assert ids_in(unanswered.text, 'id="inbox-') == [str(i.id) for i in world.inquiries[10:]]
    answered = world.creditor.get("/?status=answered")
    assert ids_in(answered.text, 'id="inbox-') == [str(i.id) for i in world.inquiries[:10]]


def test_rows_written_meanwhile_do_not_shift_the_next_page(world, factories, db):
    first = world.creditor.get("/?status=all")
    entry = world.inquiries[0].creditor
    factories.inquiry(creditor=entry, delivered=True)  # newer than every row shown
    db.commit()
    second = world.creditor.get(link(NEXT, first.text, "/creditor"))
    assert ids_in(second.text, 'id="inbox-') == [str(i.id) for i in world.inquiries[25:]]


def test_a_count_beyond_the_cap_says_so(world, monkeypatch):
    monkeypatch.setattr(lists, "COUNT_CAP", 5)
    monkeypatch.setattr("shared.web.filters.COUNT_CAP", 5)
    html = world.creditor.get("/?status=all").text
    assert badge(html, "Alla") == "5+" and badge(html, "Besvarade") == "5+"
    english = world.creditor.get("/?status=all", headers={"Accept-Language": "en"}).text
    assert badge(english, "All") == "5+"
    assert badge(world.counsellor.get("/").text, "Väntar på underskrift") == "3"


@pytest.mark.parametrize(
    ("portal", "path"),
    [
        ("counsellor", "/?before=nonsense"),
        ("counsellor", "/?before=12.34"),
        ("admin", "/admin/cases?before=1.zz"),
        ("creditor", "/?status=all&before=x"),
        ("creditor", "/webhooks?before=99999999999999999999999.0123456789abcdef0123456789abcdef"),
        ("creditor", "/notices?before=-1.0123456789abcdef0123456789abcdef"),
    ],
)
def test_a_malformed_cursor_is_a_400(world, portal, path):
    assert getattr(world, portal).get(path).status_code == 400


def test_a_malformed_cursor_in_the_customer_search_is_a_400(world):
    search = {"from": "2026-01-01", "to": "2026-12-31", "show": "all", "before": "nonsense"}
    assert world.creditor.post("/customers", data=search).status_code == 400


def test_a_lists_audit_entry_names_the_rows_on_its_page(world, db):
    world.counsellor.get("/")
    world.creditor.get("/?status=all")
    entries = {
        e.action: e
        for e in db.scalars(
            select(AuditEntry).where(
                AuditEntry.action.in_(["case.list_viewed", "inquiries.listed"])
            )
        )
    }
    assert entries["case.list_viewed"].details["cases"] == [str(c.id) for c in world.cases[:25]]
    assert entries["inquiries.listed"].details["inquiries"] == [
        str(i.id) for i in world.inquiries[:25]
    ]
