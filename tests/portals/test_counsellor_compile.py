"""Debt summary, budget, plan and BOSS+ export in the counsellor portal."""

from __future__ import annotations

from sqlalchemy import select

from shared.core.actor import Actor
from shared.counselling import answers, bossplus
from shared.counselling.models import BudgetEntry
from shared.security.models import AuditEntry


def add(db, case, anna, name, capital, kind="loan", status="undisputed"):
    item = answers.parse_debt(
        {
            "creditor_name": name,
            "capital": capital,
            "kind": kind,
            "status": status,
            "reference": f"{name}-1",
        }
    )
    return answers.add_manual_debt(db, case, item, by_user=anna)


def test_summary_totals_by_creditor_and_kind(world, db):
    case, anna, c = world.case, world.anna, world.client
    add(db, case, anna, "Kreditbanken", "60 000")
    add(db, case, anna, "Telia", "1 000", kind="utility")
    add(db, case, anna, "Kreditbanken", "4 000")
    db.commit()
    html = c.get(f"/cases/{case.id}/summary").get_data(as_text=True)
    assert "65\xa0000,00\xa0kr" in html  # total
    assert "64\xa0000,00\xa0kr" in html  # Kreditbanken's two debts together
    assert "el/tele" in html


def test_budget_is_saved_and_bad_amounts_name_the_field(world, db):
    case, c = world.case, world.client
    bad = c.post(f"/cases/{case.id}/budget", data={"salary": "25 000", "food": "tre tusen"})
    assert bad.status_code == 422 and "inget belopp" in bad.get_data(as_text=True)
    assert db.scalars(select(BudgetEntry)).all() == []  # nothing half-saved
    ok = c.post(
        f"/cases/{case.id}/budget",
        data={"salary": "25 000", "food": "3 000,50", "housing": "8 000", "leisure": ""},
    )
    assert ok.status_code == 303
    entries = {e.category: e.amount_ore for e in db.scalars(select(BudgetEntry))}
    assert entries == {"salary": 2_500_000, "food": 300_050, "housing": 800_000}
    page = c.get(f"/cases/{case.id}/budget").get_data(as_text=True)
    assert 'value="3000,50"' in page and "13\xa0999,50\xa0kr" in page  # the surplus


def test_plan_splits_the_surplus_in_proportion(world, db):
    case, anna, c = world.case, world.anna, world.client
    add(db, case, anna, "Kreditbanken", "600 000")
    add(db, case, anna, "Nordisk Inkasso", "300 000")
    add(db, case, anna, "CSN", "100 000")
    add(db, case, anna, "Tvist AB", "5 000", status="disputed")
    db.commit()
    c.post(f"/cases/{case.id}/budget", data={"salary": "23 000", "housing": "20 000"})
    html = c.get(f"/cases/{case.id}/plan?months=36").get_data(as_text=True)
    assert "1\xa0800,00\xa0kr" in html and "900,00\xa0kr" in html and "300,00\xa0kr" in html
    assert "Tvist AB" in html  # listed as left out
    bad = c.get(f"/cases/{case.id}/plan?months=500")
    assert bad.status_code == 422 and "1–120" in bad.get_data(as_text=True)


def test_export_is_a_bossplus_file(world, db):
    case, anna, c = world.case, world.anna, world.client
    add(db, case, anna, "Kreditbanken", "12 345,50")
    db.commit()
    c.post(f"/cases/{case.id}/budget", data={"salary": "20 000"})
    r = c.get(f"/cases/{case.id}/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    parsed = bossplus.parse_csv(r.data)
    assert parsed.client.name == "Erik Andersson"
    assert [d.capital_ore for d in parsed.debts] == [1_234_550]
    assert [b.amount_ore for b in parsed.budget] == [2_000_000]
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "case.exported"))


def test_export_queries_do_not_grow_with_the_number_of_debts(world, db, count_queries):
    from shared.counselling import compilation

    case, anna = world.case, world.anna

    def queries_for_export() -> int:
        db.commit()
        db.expire_all()
        before = count_queries.n
        compilation.export_bossplus(db, anna, db.get(type(case), case.id))
        return count_queries.n - before

    add(db, case, anna, "A", "100")
    one = queries_for_export()
    for i in range(6):
        add(db, case, anna, f"B{i}", "100")
    assert queries_for_export() == one, one


def test_budget_reports_every_bad_amount_at_its_field(world, db):
    case, c = world.case, world.client
    bad = c.post(
        f"/cases/{case.id}/budget",
        data={"salary": "25 000", "food": "tre tusen", "housing": "-8 000"},
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert '<p class="error" id="food-error">”tre tusen” är inget belopp.' in html
    assert '<p class="error" id="housing-error">Beloppet får inte vara negativt.</p>' in html
    assert 'id="salary-error"' not in html and 'value="25 000"' in html  # kept as typed
    assert db.scalars(select(BudgetEntry)).all() == []


def test_unconfirmed_debts_stand_apart_with_their_own_subtotal(world, db):
    case, anna, c = world.case, world.anna, world.client
    add(db, case, anna, "Kreditbanken", "60 000")
    theirs = answers.add_manual_debt(
        db,
        case,
        answers.parse_debt({"creditor_name": "Telia", "capital": "1 500", "kind": "utility"}),
        by_person_id=case.person_id,
    )
    db.commit()
    html = c.get(f"/cases/{case.id}/summary").get_data(as_text=True)
    totals, apart = html.split('id="unconfirmed"')
    assert "60\xa0000,00\xa0kr" in totals and "61\xa0500,00\xa0kr" not in html
    assert "Telia" not in totals
    assert "Summa ej bekräftade (1)" in apart and "1\xa0500,00\xa0kr" in apart
    export = bossplus.parse_csv(c.get(f"/cases/{case.id}/export.csv").data)
    assert [(d.creditor_name, d.confirmed) for d in export.debts] == [
        ("Kreditbanken", True),
        ("Telia", False),
    ]
    answers.confirm_debt(db, anna, theirs)
    db.commit()
    html = c.get(f"/cases/{case.id}/summary").get_data(as_text=True)
    assert "61\xa0500,00\xa0kr" in html and 'id="unconfirmed"' not in html


def test_a_creditor_asked_again_is_counted_once_in_summary_plan_and_export(world, db):
    from shared.counselling import inquiries
    from shared.counselling.models import Answer
    from shared.creditor_link import delivery

    case, anna, c, web = world.case, world.anna, world.client, world.web

    def answer(capital, **kw):
        [inquiry] = inquiries.send_inquiries(db, anna, case, [web.id], **kw)
        delivery.deliver(db, inquiry.id)
        item = answers.parse_debt(
            {"kind": "loan", "capital": capital, "reference": "NI-1"},
            creditor_name=web.name,
        )
        answers.answer(
            db, inquiry, answer=Answer.YES, debts=[item], source="form", actor=Actor("user", "x")
        )
        db.commit()

    def seen():
        summary = c.get(f"/cases/{case.id}/summary").get_data(as_text=True)
        plan = c.get(f"/cases/{case.id}/plan?months=10").get_data(as_text=True)
        export = bossplus.parse_csv(c.get(f"/cases/{case.id}/export.csv").data)
        return summary, plan, [d.capital_ore for d in export.debts]

    c.post(f"/cases/{case.id}/budget", data={"salary": "20 000", "housing": "10 000"})
    answer("30 000")
    summary, plan, exported = seen()
    assert "30\xa0000,00\xa0kr" in summary and exported == [3_000_000]
    answer("40 000", ask_again=True)  # the agency's newer statement of the same claim
    summary, plan, exported = seen()
    assert exported == [4_000_000]  # not [3 000 000, 4 000 000]
    assert "70\xa0000,00\xa0kr" not in summary
    assert summary.split("<dt>Antal skulder</dt><dd>")[1].startswith("1<")
    # The plan shares the 10 000 kr surplus over the 40 000 kr claim only: 4 000 kr a month.
    assert "4\xa0000,00\xa0kr" in plan and "70\xa0000,00\xa0kr" not in plan
    assert "Historik" in summary
