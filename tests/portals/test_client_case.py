"""The client follows their own case: answers, debts from letters, summary and plan."""

from __future__ import annotations

from sqlalchemy import select

from shared.core.actor import Actor
from shared.counselling import inquiries
from shared.counselling.models import Debt, DebtSource
from tests.factories import login_citizen


def test_client_follows_the_answers_and_adds_a_debt(world, db, make_app):
    case = world.case
    inquiries.send_inquiries(db, world.anna, case, [world.web.id])
    db.commit()
    client = make_app("client").test_client()
    login_citizen(client, case.person)
    page = client.get(f"/cases/{case.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "0 av 1 har svarat" in html
    assert "Nordisk Inkasso AB" in html and "Anna Berg" in html
    partial = client.get(f"/cases/{case.id}", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True)
    bad = client.post(
        f"/cases/{case.id}/debts/new",
        data={"creditor_name": "Telia", "capital": "x", "kind": "utility"},
    )
    assert bad.status_code == 422 and "inget belopp" in bad.get_data(as_text=True)
    ok = client.post(
        f"/cases/{case.id}/debts/new",
        data={"creditor_name": "Telia", "reference": "F-1", "capital": "1 200", "kind": "utility"},
    )
    assert ok.status_code == 303
    [debt] = db.scalars(select(Debt)).all()
    assert debt.source == DebtSource.CLIENT and debt.confirmed_at is None
    assert "väntar på rådgivaren" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_another_citizen_cannot_see_the_case(world, db, make_app, factories):
    stranger = factories.person("198001012387")
    db.commit()
    client = make_app("client").test_client()
    login_citizen(client, stranger)
    case_id = world.case.id
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert client.post(f"/cases/{case_id}/debts/new", data={"capital": "1"}).status_code == 404


def test_staff_and_anonymous_are_refused(world, make_app, factories):
    from tests.factories import login_staff

    client = make_app("client").test_client()
    assert client.get(f"/cases/{world.case.id}").status_code == 303
    login_staff(client, world.anna)
    assert client.get(f"/cases/{world.case.id}").status_code == 303


def test_the_client_sees_a_creditors_newest_answer_once_and_own_debts_apart(world, db, make_app):
    from shared.counselling import answers
    from shared.counselling.models import Answer
    from shared.creditor_link import delivery

    case, anna, web = world.case, world.anna, world.web
    for capital, again in (("30 000", False), ("40 000", True)):
        [inquiry] = inquiries.send_inquiries(db, anna, case, [web.id], ask_again=again)
        delivery.deliver(db, inquiry.id)
        item = answers.parse_debt({"kind": "loan", "capital": capital}, creditor_name=web.name)
        answers.answer(
            db, inquiry, answer=Answer.YES, debts=[item], source="form", actor=Actor("user", "x")
        )
    answers.add_manual_debt(
        db,
        case,
        answers.parse_debt({"creditor_name": "Telia", "capital": "1 500", "kind": "utility"}),
        by_person_id=case.person_id,
    )
    db.commit()
    client = make_app("client").test_client()
    login_citizen(client, case.person)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    answers_part = html.split("<h3>")[0]
    assert "svarat, 0 skulder" in answers_part and "svarat, 1 skuld " in answers_part
    summary, waiting = html.split('id="unconfirmed"')
    summary = summary.split("<h2>Skuldsammanställning</h2>")[1]
    assert "40\xa0000,00\xa0kr" in summary
    assert "70\xa0000,00\xa0kr" not in html and "71\xa0500,00\xa0kr" not in html
    assert "<dt>Antal skulder</dt><dd>1</dd>" in summary
    assert "1\xa0500,00\xa0kr" in waiting
