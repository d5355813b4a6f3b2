"""The counsellor's inquiries and live report: send, follow, type in answers, add and
confirm debts; only the case owner gets in."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from shared.counselling import answers, inquiries
from shared.counselling.models import Debt, DebtSource, InquiryStatus
from shared.creditor_link import delivery
from shared.identity.models import Creditor, OrgKind, Role
from shared.security.models import AuditEntry
from tests.factories import login_citizen, login_staff
from tests.factories.statements import counting_statements

HX = {"HX-Request": "true"}


def test_send_and_follow_the_report(world, db):
    c, case = world.client, world.case
    page = c.get(f"/cases/{case.id}/report")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nordisk Inkasso AB" in html and "CSN" in html
    r = c.post(
        f"/cases/{case.id}/inquiries",
        data={"creditor": [str(world.web.id), str(world.post.id)]},
    )
    assert r.status_code == 303
    report = c.get(f"/cases/{case.id}/report", headers=HX)
    html = report.get_data(as_text=True)
    assert report.status_code == 200 and "<html" not in html and 'id="report"' in html
    assert "0 av 2 har svarat" in html and 'hx-trigger="every 5s"' in html
    assert db.scalars(select(Creditor)).all()


def test_sending_nothing_says_so(world):
    r = world.client.post(f"/cases/{world.case.id}/inquiries", data={})
    assert r.status_code == 422 and "Välj minst en borgenär" in r.get_data(as_text=True)


def test_typing_in_a_posted_answer(world, db):
    c, case = world.client, world.case
    [inquiry] = inquiries.send_inquiries(db, world.anna, case, [world.post.id])
    delivery.deliver(db, inquiry.id)
    db.commit()
    url = f"/cases/{case.id}/inquiries/{inquiry.id}/answer"
    assert c.get(url).status_code == 200
    bad = c.post(
        url,
        data={
            "answer": "yes",
            "rows": "1",
            "debts[0].capital": "tio",
            "debts[0].kind": "csn",
            "debts[0].status": "undisputed",
            "debts[0].reference": "CSN-1",
        },
    )
    assert bad.status_code == 422 and "inget belopp" in bad.get_data(as_text=True)
    ok = c.post(
        url,
        data={
            "answer": "yes",
            "rows": "1",
            "debts[0].capital": "45 000",
            "debts[0].kind": "csn",
            "debts[0].status": "undisputed",
            "debts[0].reference": "CSN-1",
        },
    )
    assert ok.status_code == 303
    db.expire_all()
    assert inquiry.status == InquiryStatus.ANSWERED and inquiry.answer_source == "manual"
    [debt] = db.scalars(select(Debt).where(Debt.inquiry_id == inquiry.id)).all()
    assert debt.capital_ore == 4_500_000 and debt.creditor_name == "CSN"
    done = c.get(f"/cases/{case.id}/report", headers=HX)
    assert done.status_code == 286  # everything answered: polling stops


def test_add_and_confirm_debts(world, db):
    c, case = world.client, world.case
    r = c.post(
        f"/cases/{case.id}/debts/new",
        data={
            "creditor_name": "Telia",
            "reference": "F-77",
            "capital": "1 250,50",
            "kind": "utility",
            "status": "undisputed",
        },
    )
    assert r.status_code == 303
    bad = c.post(f"/cases/{case.id}/debts/new", data={"creditor_name": "", "capital": "1"})
    assert bad.status_code == 422
    client_debt = answers.add_manual_debt(
        db,
        case,
        answers.parse_debt({"creditor_name": "Hyresvärd", "capital": "9000", "kind": "rent"}),
        by_person_id=case.person_id,
    )
    db.commit()
    page = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert "Inlagd av klienten" in page and "1\xa0250,50\xa0kr" in page
    assert c.post(f"/cases/{case.id}/debts/{client_debt.id}/confirm").status_code == 303
    db.expire_all()
    assert client_debt.confirmed_at is not None
    assert {d.source for d in db.scalars(select(Debt))} == {DebtSource.MANUAL, DebtSource.CLIENT}


def section(html: str, heading: str) -> str:
    """The part of the report under ``<h3>heading</h3>``, up to the next heading."""
    return html.split(f"<h3>{heading}</h3>", 1)[1].split("<h3>", 1)[0]


def answered_by_post(db, world, *capitals, ask_again=False):
    """The post creditor (CSN) asked and its answer typed in through the answer page."""
    c, case = world.client, world.case
    [inquiry] = inquiries.send_inquiries(db, world.anna, case, [world.post.id], ask_again=ask_again)
    delivery.deliver(db, inquiry.id)
    db.commit()
    data = {"answer": "yes", "rows": str(len(capitals))}
    for i, capital in enumerate(capitals):
        data |= {f"debts[{i}].capital": capital, f"debts[{i}].kind": "csn"}
        data |= {f"debts[{i}].status": "undisputed", f"debts[{i}].reference": f"CSN-{i}"}
    r = c.post(f"/cases/{case.id}/inquiries/{inquiry.id}/answer", data=data)
    assert r.status_code == 303, r.get_data(as_text=True)
    db.expire_all()
    return inquiry


def test_a_typed_in_yes_without_debts_is_refused_at_debts(world, db):
    c, case = world.client, world.case
    [inquiry] = inquiries.send_inquiries(db, world.anna, case, [world.post.id])
    delivery.deliver(db, inquiry.id)
    db.commit()
    url = f"/cases/{case.id}/inquiries/{inquiry.id}/answer"
    r = c.post(url, data={"answer": "yes", "rows": "3", "debts[0].status": "undisputed"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert '<p class="error" id="debts-error" role="alert">Fyll i minst en skuld' in html
    no_with_a_debt = c.post(
        url, data={"answer": "no", "rows": "1", "debts[0].kind": "csn", "debts[0].capital": "5"}
    )
    assert no_with_a_debt.status_code == 422
    assert "nej-svar kan inte ha skulder" in no_with_a_debt.get_data(as_text=True)
    db.expire_all()
    assert inquiry.status == InquiryStatus.DELIVERED and inquiry.answer is None


@pytest.mark.parametrize("rows", ["abc", str(10**9), "0", "²"])
def test_a_bad_row_count_is_a_422_at_the_field_not_a_500(world, db, rows):
    c, case = world.client, world.case
    [inquiry] = inquiries.send_inquiries(db, world.anna, case, [world.post.id])
    delivery.deliver(db, inquiry.id)
    db.commit()
    r = c.post(
        f"/cases/{case.id}/inquiries/{inquiry.id}/answer",
        data={"answer": "yes", "rows": rows, "debts[0].kind": "csn", "debts[0].capital": "5"},
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Antalet skuldrader ska vara 1–100." in html
    assert html.count('name="debts[') <= 3 * 9  # the default three rows, not a billion
    db.expire_all()
    assert inquiry.answer is None


def test_more_rows_than_the_cap_are_refused_at_debts(world, db):
    c, case = world.client, world.case
    [inquiry] = inquiries.send_inquiries(db, world.anna, case, [world.post.id])
    delivery.deliver(db, inquiry.id)
    db.commit()
    r = c.post(
        f"/cases/{case.id}/inquiries/{inquiry.id}/answer",
        data={"answer": "yes", "rows": "1", "debts[100].kind": "csn", "debts[100].capital": "5"},
    )
    assert r.status_code == 422 and "Högst 100 skulder i ett svar." in r.get_data(as_text=True)


def test_asking_a_creditor_that_has_answered_again_needs_a_confirmation(world, db):
    c, case = world.client, world.case
    first = answered_by_post(db, world, "10 000")
    report = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert "har svarat – ett nytt svar ersätter det tidigare" in report
    url = f"/cases/{case.id}/inquiries"
    warned = c.post(url, data={"creditor": [str(world.post.id)]})
    html = warned.get_data(as_text=True)
    assert warned.status_code == 422
    assert "CSN har redan svarat. Ett nytt svar ersätter det tidigare" in html
    assert 'name="ask_again"' in html
    assert f'value="{world.post.id}" id="creditor-{world.post.id}" checked' in html
    assert inquiries.report(db, case).total == 1  # nothing sent
    confirmed = c.post(url, data={"creditor": [str(world.post.id)], "ask_again": "1"})
    assert confirmed.status_code == 303
    db.expire_all()
    report = inquiries.report(db, case)
    assert report.total == 2 and report.inquiries[0].id == first.id


def test_a_second_answer_replaces_the_first_in_the_report(world, db):
    c, case = world.client, world.case
    answered_by_post(db, world, "10 000", "5 000")
    answered_by_post(db, world, "12 000", ask_again=True)
    html = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert "Ja: 0 skulder" in html and "ersatt av ett senare svar" in html
    assert re.search(r"Ja: 1 skuld(?!er)", html)
    current, history = section(html, "Skulder"), section(html, "Historik")
    assert "12\xa0000,00\xa0kr" in current and "10\xa0000,00\xa0kr" not in current
    assert "10\xa0000,00\xa0kr" in history and "5\xa0000,00\xa0kr" in history


def test_the_counsellor_corrects_a_debt_and_the_report_says_who(world, db):
    c, case = world.client, world.case
    answered_by_post(db, world, "10 000")
    [debt] = inquiries.case_debts(db, case)
    url = f"/cases/{case.id}/debts/{debt.id}/edit"
    form = c.get(url).get_data(as_text=True)
    assert 'name="capital" value="10000,00"' in form and 'value="CSN-0"' in form
    assert 'name="creditor_name"' not in form  # an answer's debt keeps its creditor
    data = {"capital": "9 500", "kind": "csn", "status": "undisputed", "reference": "CSN-0"}
    no_reason = c.post(url, data=data)
    assert no_reason.status_code == 422
    assert '<p class="error" id="reason-error">Skriv varför.</p>' in no_reason.get_data(
        as_text=True
    )
    ok = c.post(url, data=data | {"reason": "Nytt besked från CSN"})
    assert ok.status_code == 303
    db.expire_all()
    assert debt.capital_ore == 950_000 and debt.creditor_name == "CSN"
    html = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert "ändrad av Anna Berg" in html and "Nytt besked från CSN" in html
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "debt.changed"))


def test_the_counsellor_removes_a_debt_with_a_reason_after_a_confirmation(world, db):
    c, case = world.client, world.case
    answered_by_post(db, world, "10 000", "3 000")
    kept, gone = inquiries.case_debts(db, case)
    url = f"/cases/{case.id}/debts/{gone.id}/remove"
    page = c.get(url).get_data(as_text=True)
    assert "Ta bort skulden?" in page and "3\xa0000,00\xa0kr" in page
    assert c.post(url, data={"reason": ""}).status_code == 422
    db.expire_all()
    assert gone.removed_at is None
    assert c.post(url, data={"reason": "Dubblett av CSN-0"}).status_code == 303
    db.expire_all()
    assert gone.removed_at is not None and gone.removed_by == world.anna.id
    html = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    current, history = section(html, "Skulder"), section(html, "Historik")
    assert "3\xa0000,00\xa0kr" not in current and "10\xa0000,00\xa0kr" in current
    assert "borttagen av Anna Berg" in history and "Dubblett av CSN-0" in history
    summary = c.get(f"/cases/{case.id}/summary").get_data(as_text=True)
    assert "10\xa0000,00\xa0kr" in summary and "13\xa0000,00\xa0kr" not in summary
    again = c.post(url, data={"reason": "igen"})
    assert again.status_code == 303  # refused: back to the report with the message
    assert "Skulden är borttagen." in c.get(f"/cases/{case.id}/report").get_data(as_text=True)


@pytest.mark.parametrize("who", ["colleague", "admin", "other_municipality", "citizen"])
def test_only_the_owner_reaches_the_case_routes(world, db, factories, who):
    case = world.case
    if who == "citizen":
        client = world.app.test_client()
        login_citizen(client, case.person)
    else:
        org = (
            world.municipality
            if who != "other_municipality"
            else factories.org(OrgKind.MUNICIPALITY)
        )
        role = Role.MUNICIPALITY_ADMIN if who == "admin" else Role.COUNSELLOR
        user = factories.user(org, role)
        db.commit()
        client = world.app.test_client()
        login_staff(client, user)
    fake = "00000000-0000-4000-8000-000000000000"
    for method, url in [
        ("get", f"/cases/{case.id}/report"),
        ("post", f"/cases/{case.id}/inquiries"),
        ("get", f"/cases/{case.id}/debts/new"),
        ("post", f"/cases/{case.id}/debts/new"),
        ("get", f"/cases/{case.id}/inquiries/{fake}/answer"),
        ("post", f"/cases/{case.id}/debts/{fake}/confirm"),
        ("get", f"/cases/{case.id}/debts/{fake}/edit"),
        ("post", f"/cases/{case.id}/debts/{fake}/edit"),
        ("get", f"/cases/{case.id}/debts/{fake}/remove"),
        ("post", f"/cases/{case.id}/debts/{fake}/remove"),
    ]:
        status = getattr(client, method)(url).status_code
        assert status in (303, 403, 404), (who, method, url, status)


def test_the_send_form_searches_a_large_directory(world, db, factories):
    """A directory of thousands is not a page of checkboxes: the form offers a page of
    creditors and a search by name or organisationsnummer that keeps what is ticked."""
    for i in range(inquiries.DIRECTORY_PAGE + 5):
        factories.creditor(name=f"Bank {i:02d} AB")
    factories.creditor(name="Östgöta 100% Finans", orgnr="556036-0793")
    factories.creditor(name="Vilande Kredit", active=False)
    db.commit()
    c, case = world.client, world.case
    html = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert html.count('name="creditor"') == inquiries.DIRECTORY_PAGE
    assert "Fler borgenärer finns" in html

    url = f"/cases/{case.id}/creditors"
    ticked = str(world.post.id)  # CSN, ticked before the search
    r = c.post(url, data={"q": "100%", "creditor": [ticked]}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and 'id="creditor-choices"' in html
    assert "Östgöta 100% Finans" in html and "Bank 00 AB" not in html  # % is no wildcard
    assert f'value="{ticked}" id="creditor-{ticked}" checked' in html
    assert html.index("CSN") < html.index("Östgöta")  # the ticked first
    by_orgnr = c.post(url, data={"q": "5560360793"}, headers=HX).get_data(as_text=True)
    assert "Östgöta 100% Finans" in by_orgnr and "CSN" not in by_orgnr
    none = c.post(url, data={"q": "Vilande"}, headers=HX).get_data(as_text=True)
    assert "Ingen aktiv borgenär matchar sökningen." in none

    # Without htmx the form's search button shows the report page with the choices.
    page = c.post(url, data={"q": "bank 1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'id="report"' in html
    assert "Bank 10 AB" in html and "Bank 02 AB" not in html and 'value="bank 1"' in html
    assert c.get(url).status_code == 303  # a reload of that page goes to the report

    # A send that fails keeps the search and the ticks.
    r = c.post(f"/cases/{case.id}/inquiries", data={"q": "CSN", "creditor": [str(uuid.uuid4())]})
    assert r.status_code == 422 and 'value="CSN"' in r.get_data(as_text=True)


def test_the_directory_search_is_one_statement_and_bounded(world, db):
    with counting_statements(db.get_bind()) as counted:
        choice = inquiries.directory(db, "x" * 5000, [uuid.uuid4() for _ in range(1000)])
    # One statement reads the directory (on PostgreSQL the transaction's first statement
    # also tells row-level security its scope: a set_config, which reads no table).
    [select] = [sql for sql in counted.sql if sql.startswith("SELECT") and "creditors" in sql]
    assert choice.chosen == [] and choice.matches == [] and not choice.more
    select = re.sub(r"%\(\w+\)s", "?", select)  # psycopg's named placeholders
    in_list = select.split("creditors.id IN", 1)[1].split(")", 1)[0]
    assert in_list.count(",") + 1 == inquiries.MAX_CHOSEN  # the ticks are capped
