"""The counsellor's inquiries and live report: send, follow, type in answers, add and
confirm debts; only the case owner gets in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.counselling import answers, inquiries
from shared.counselling.models import Debt, DebtSource, InquiryStatus
from shared.creditor_link import delivery
from shared.identity.models import Creditor, OrgKind, Role
from tests.factories import login_citizen, login_staff

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
    ]:
        status = getattr(client, method)(url).status_code
        assert status in (303, 403, 404), (who, method, url, status)
