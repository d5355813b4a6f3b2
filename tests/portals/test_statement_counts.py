"""Every page runs as many SQL statements on a big world as on a small one: no page
loads or decrypts anything once per row (or once per data key of a row), and every list
is a page of rows whatever the data behind it.

One world is measured, grown (many more cases of the same counsellor and of another
municipality, inquiries to the same creditor and others with answers and debts, more
inquiries, debts and a second case of the measured client, more webhook deliveries: more
than a page of rows in every list) and measured again; each page's count must be exactly
the same. The data keys' cache is emptied before each request (``statements_of``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.core import clock
from shared.core.actor import Actor
from shared.counselling import answers, compilation, inquiries
from shared.counselling.models import Answer, Case, Inquiry, InquiryStatus
from shared.creditor_link import delivery, webhook_endpoints, webhooks
from shared.creditor_link.models import CreditorNotice
from shared.identity import api_keys
from shared.identity.models import Channel, Creditor, Organisation, OrgKind, Role, User
from tests.factories import (
    ERIK,
    OTHERS,
    Factories,
    directory_entry,
    login_citizen,
    login_staff,
    register,
    sign,
)
from tests.factories.statements import Statements, statements_of
from tests.factories.worlds import World

V1 = "/api/v1"
SEARCH_ALL = {"from": "2020-01-01", "to": "2026-12-31", "show": "all"}


@dataclass
class ScaleWorld(World):
    """Skövde (Anna, counsellor; Maria, admin) and Lerum (Lars); Banken AB (answers by
    API or in the portal) with an endpoint, an agent and a key; Andra Inkasso AB and CSN
    (by post). Erik's case of Anna's asked all of them; Banken answered yes."""

    skovde: Organisation
    lerum: Organisation
    anna: User
    maria: User
    lars: User
    bank: Organisation
    bank_entry: Creditor
    bank_admin: User
    other: Organisation
    other_entry: Creditor
    post: Creditor
    case: Case
    inquiry: Inquiry  # Erik's, to Banken, answered yes
    key: str
    counsellor: FlaskClient
    admin: FlaskClient
    creditor: FlaskClient
    client: FlaskClient
    api_app: Flask


def _yes(db, inquiry: Inquiry, by: User, n: int) -> None:
    debts = [
        answers.DebtInput(
            creditor_name=inquiry.creditor.name,
            reference=f"L-{n}-{i}",
            kind="loan",
            status="undisputed",
            capital_ore=10_000_00 * (i + 1),
            note="Avbetalning",
        )
        for i in range(2)
    ]
    answers.answer(db, inquiry, answer=Answer.YES, debts=debts, source="form", actor=Actor.user(by))


def _send(db, counsellor: User, case: Case, creditors: list[Creditor]) -> list[Inquiry]:
    sent = inquiries.send_inquiries(db, counsellor, case, [c.id for c in creditors])
    db.commit()
    for inquiry in sent:
        assert delivery.deliver(db, inquiry.id) == "delivered"
    db.commit()
    return sent


@pytest.fixture
def world(db, factories: Factories, make_app, database) -> ScaleWorld:
    skovde = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    lerum = factories.org(OrgKind.MUNICIPALITY, "Lerums kommun")
    anna = factories.user(skovde, Role.COUNSELLOR, name="Anna Berg")
    maria = factories.user(skovde, Role.MUNICIPALITY_ADMIN, name="Maria Sjöberg")
    lars = factories.user(lerum, Role.COUNSELLOR, name="Lars Holm")
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    bank_entry = directory_entry(db, bank, Channel.API)
    sara = factories.user(bank, Role.CREDITOR_AGENT, name="Sara Ek")
    bank_admin = factories.user(bank, Role.CREDITOR_ADMIN, name="Olle Admin")
    webhook_endpoints.add_endpoint(db, bank_admin, "https://system.banken.example/hooks")
    _row, key = api_keys.create_key(db, bank_admin, "Ekonomisystemet")
    other = factories.org(OrgKind.AGENCY, "Andra Inkasso AB")
    other_entry = directory_entry(db, other, Channel.WEB)
    post = factories.creditor(name="CSN", channel=Channel.MANUAL, postal_address="Sundsvall")
    case = register(db, anna, ERIK, "erik@example.se").case
    sign(db, case)
    sent = _send(db, anna, case, [bank_entry, other_entry, post])
    inquiry = next(i for i in sent if i.creditor_id == bank_entry.id)
    _yes(db, inquiry, sara, 0)
    answers.add_manual_debt(
        db,
        case,
        answers.DebtInput("Hyresvärden AB", "H-1", "rent", "undisputed", 8_000_00),
        by_user=anna,
    )
    compilation.save_budget(db, anna, case, {"salary": "22 000", "housing": "7 500"})
    # two more of Anna's cases asked Banken: one answered yes, one not yet
    for pnr in OTHERS[:2]:
        more = register(db, anna, pnr, "k@example.se").case
        sign(db, more)
        [asked] = _send(db, anna, more, [bank_entry])
        if pnr == OTHERS[0]:
            _yes(db, asked, sara, 1)
    _notices(db, bank, 2)
    db.commit()
    counsellor = make_app("counsellor").test_client()
    login_staff(counsellor, anna)
    admin = make_app("counsellor").test_client()
    login_staff(admin, maria)
    creditor_app = make_app("creditor")
    creditor = creditor_app.test_client()
    login_staff(creditor, sara)
    client = make_app("client").test_client()
    login_citizen(client, case.person)
    return ScaleWorld(
        skovde=skovde,
        lerum=lerum,
        anna=anna,
        maria=maria,
        lars=lars,
        bank=bank,
        bank_entry=bank_entry,
        bank_admin=bank_admin,
        other=other,
        other_entry=other_entry,
        post=post,
        case=case,
        inquiry=inquiry,
        key=key,
        counsellor=counsellor,
        admin=admin,
        creditor=creditor,
        client=client,
        api_app=creditor_app,
    )


def grow(db, factories: Factories, w: ScaleWorld) -> None:
    """Much more of everything, more than a page of each list."""
    answered_by = Actor.user(w.bank_admin)
    for n in range(60):  # Anna's cases, each asking Banken
        case = factories.case(w.anna, signed=True)
        inquiry = factories.inquiry(case, w.bank_entry, delivered=True)
        if n % 3 == 0:
            _answer_with_debts(factories, inquiry, answered_by)
        elif n % 3 == 1:
            inquiry.status, inquiry.answer = InquiryStatus.ANSWERED, Answer.NO
            inquiry.answered_at = clock.now()
            inquiry.answered_by = answered_by
        webhooks.emit(db, w.bank.id, "inquiry.created", {"inquiry_id": str(inquiry.id)}, case=case)
    for n in range(30):  # Lerum's cases, asking Banken and Andra Inkasso
        case = factories.case(w.lars, signed=True)
        for entry in (w.bank_entry, w.other_entry):
            inquiry = factories.inquiry(case, entry, delivered=True)
            if n % 2:
                _answer_with_debts(factories, inquiry, answered_by)
    for _n in range(10):  # pending cases in Skövde, asking no one
        factories.case(w.anna)
    # Erik's case asks many more creditors; some answer yes with debts, and there are
    # more debts by hand; Erik also has a case in Lerum that asked Banken
    more = [factories.creditor(channel=Channel.WEB) for _ in range(12)]
    for n, inquiry in enumerate(_send(db, w.anna, w.case, more)):
        if n % 2:
            _yes(db, inquiry, w.bank_admin, 100 + n)
    for n in range(8):
        answers.add_manual_debt(
            db,
            w.case,
            answers.DebtInput("Inkasso AB", f"M-{n}", "other", "undisputed", 1_000_00),
            by_user=w.anna,
        )
    _notices(db, w.bank, 60)
    lerum_case = factories.case(w.lars, signed=True, person=w.case.person)
    _answer_with_debts(factories, factories.inquiry(lerum_case, w.bank_entry, delivered=True), None)
    db.commit()


def _notices(db, org: Organisation, n: int) -> None:
    """Fullmakt events for the organisation's Händelser, half of them read."""
    for i in range(n):
        db.add(
            CreditorNotice(
                organisation_id=org.id,
                event_type="fullmakt.validity_changed",
                data={"code": f"FM-TEST-{i:04d}", "valid_from": "2026-01-01"},
                read_at=clock.now() if i % 2 else None,
            )
        )
    db.flush()


def _answer_with_debts(factories: Factories, inquiry: Inquiry, by: Actor | None) -> None:
    inquiry.status, inquiry.answer = InquiryStatus.ANSWERED, Answer.YES
    inquiry.answered_at = clock.now()
    inquiry.answered_by = by
    for _i in range(3):
        factories.debt(inquiry, note="Avbetalning", original_creditor="Kortbolaget AB")


def pages(w: ScaleWorld) -> dict:
    """Every page measured: what it is called, and its request; a list's request takes
    ``after``, where its next page is (a link, or a cursor)."""
    case, inquiry = w.case.id, w.inquiry.id
    api = w.api_app.test_client()
    auth = {"Authorization": f"Bearer {w.key}"}

    def kundfragor(data):
        return lambda after=None: w.creditor.post(
            "/customers", data={**data, **({"before": after} if after else {})}
        )

    return {
        "counsellor: case list": lambda after=None: w.counsellor.get(after or "/"),
        "counsellor: case page": lambda: w.counsellor.get(f"/cases/{case}"),
        "counsellor: report": lambda: w.counsellor.get(f"/cases/{case}/report"),
        "counsellor: summary": lambda: w.counsellor.get(f"/cases/{case}/summary"),
        "counsellor: plan": lambda: w.counsellor.get(f"/cases/{case}/plan"),
        "admin: overview": lambda: w.admin.get("/"),
        "admin: case list": lambda after=None: w.admin.get(after or "/admin/cases"),
        "creditor: inbox, to answer": lambda after=None: w.creditor.get(
            after or "/?status=unanswered"
        ),
        "creditor: inbox, answered": lambda after=None: w.creditor.get(
            after or "/?status=answered"
        ),
        "creditor: inbox, all": lambda after=None: w.creditor.get(after or "/?status=all"),
        "creditor: inquiry": lambda: w.creditor.get(f"/inquiries/{inquiry}"),
        "creditor: Kundfrågor by dates": kundfragor(SEARCH_ALL),
        "creditor: Kundfrågor by number": kundfragor({"number": ERIK, "show": "all"}),
        "creditor: webhook log": lambda after=None: w.creditor.get(after or "/webhooks"),
        "creditor: notices": lambda after=None: w.creditor.get(after or "/notices"),
        "client: home": lambda: w.client.get("/"),
        "client: case page": lambda: w.client.get(f"/cases/{case}"),
        "api: inquiry list": lambda after=None: api.get(
            f"{V1}/inquiries?limit=50" + (f"&cursor={after}" if after else ""), headers=auth
        ),
        "api: inquiry search": lambda: api.post(
            f"{V1}/inquiries/search", json={"personal_number": ERIK}, headers=auth
        ),
    }


# The lists, whose next page (in the big world) runs as many statements as the first.
LISTS = (
    "counsellor: case list",
    "admin: case list",
    "creditor: inbox, to answer",
    "creditor: inbox, answered",
    "creditor: inbox, all",
    "creditor: Kundfrågor by dates",
    "creditor: webhook log",
    "creditor: notices",
    "api: inquiry list",
)
NEXT_LINK = re.compile(r'href="([^"]*)"[^>]*rel="next"')
OLDER = re.compile(r'name="before" value="([^"]+)"')


def after(name: str, first) -> str:
    """Where the page after the response ``first`` is: its cursor, or its link's path."""
    if name.startswith("api:"):
        found = first.json["next_cursor"]
    elif "Kundfrågor" in name:
        found = (match := OLDER.search(first.text)) and match.group(1)
    else:
        link = (match := NEXT_LINK.search(first.text)) and match.group(1)
        found = link and link.replace("&amp;", "&").removeprefix(first.request.root_path)
    assert found, f"{name}: a single page"
    return found


def measure(engine, w: ScaleWorld, at: str, *, next_pages: bool = False) -> dict[str, Statements]:
    """Each page's statements (with the next page of each list, ``next_pages``), each
    request at its own minute (an API key's use is written at most once a minute)."""
    found = {}
    start = clock.at(at)
    for i, (name, request) in enumerate(pages(w).items()):
        with clock.frozen(start + timedelta(minutes=10 * i)):
            found[name] = statements_of(engine, request, what=name)
        if next_pages and name in LISTS:
            later = after(name, found[name].response)
            with clock.frozen(start + timedelta(minutes=10 * i + 5)):
                found[f"{name}, next page"] = statements_of(
                    engine, partial(request, later), what=f"{name}, next page"
                )
            assert found[f"{name}, next page"].response.data != found[name].response.data
    return found


def more_of(small: Statements, big: Statements) -> list[str]:
    """The statements the big world ran more often (the start of each)."""
    extra = Counter(big.sql) - Counter(small.sql)
    return [f"{n} x {sql[:160]}" for sql, n in extra.most_common(3)]


def test_no_page_runs_more_statements_on_more_data(world, db, factories, engine):
    small = measure(engine, world, "2026-12-01 09:00")
    grow(db, factories, world)
    big = measure(engine, world, "2026-12-01 15:00", next_pages=True)
    for name in LISTS:
        small[f"{name}, next page"] = small[name]  # the same count as the first page
    grown = {
        name: (small[name].n, big[name].n, more_of(small[name], big[name]))
        for name in small
        if small[name].n != big[name].n
    }
    assert not grown, "statements (small world, big world, more of): " + "\n".join(
        f"{name}: {row}" for name, row in grown.items()
    )
