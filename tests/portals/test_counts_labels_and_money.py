"""Pages print counts in the singular or the plural, the domain's labels and money in the
reader's language, the real validity of a signed fullmakt, and a BOSS+ file whose headers
carry no personal data."""

from __future__ import annotations

from datetime import timedelta

from shared.core import clock
from shared.counselling import answers, inquiries
from shared.creditor_link import delivery
from shared.identity.models import Channel, Creditor, OrgKind, Role
from tests.factories import login_citizen, login_staff, register


def add(db, case, anna, name, capital, kind="loan", status="undisputed"):
    item = answers.parse_debt(
        {"creditor_name": name, "capital": capital, "kind": kind, "status": status}
    )
    return answers.add_manual_debt(db, case, item, by_user=anna)


def answer_by_post(world, db, debts: int):
    """The posted creditor (CSN) answers yes with ``debts`` debts, typed in by the counsellor."""
    c, case = world.client, world.case
    [inquiry] = inquiries.send_inquiries(db, world.anna, case, [world.post.id])
    delivery.deliver(db, inquiry.id)
    db.commit()
    data = {"answer": "yes", "rows": str(debts)}
    for i in range(debts):
        data |= {
            f"debts[{i}].capital": "1 000",
            f"debts[{i}].kind": "csn",
            f"debts[{i}].status": "undisputed",
            f"debts[{i}].reference": f"CSN-{i}",
        }
    r = c.post(f"/cases/{case.id}/inquiries/{inquiry.id}/answer", data=data)
    assert r.status_code == 303


# ---- Counts ------------------------------------------------------------------------------


def test_one_debt_is_singular_on_the_report_in_both_languages(world, db):
    answer_by_post(world, db, 1)
    c, case = world.client, world.case
    sv = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert "Ja: 1 skuld" in sv and "1 skulder" not in sv
    en = c.get(f"/cases/{case.id}/report?lang=en").get_data(as_text=True)
    assert "Yes: 1 debt" in en and "1 debts" not in en


def test_two_debts_are_plural_on_the_report(world, db):
    answer_by_post(world, db, 2)
    c, case = world.client, world.case
    assert "Ja: 2 skulder" in c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert "Yes: 2 debts" in c.get(f"/cases/{case.id}/report?lang=en").get_data(as_text=True)


def test_sending_one_inquiry_says_so_in_the_singular(world):
    c, case = world.client, world.case
    r = c.post(f"/cases/{case.id}/inquiries", data={"creditor": [str(world.web.id)]})
    assert r.status_code == 303
    html = c.get(f"/cases/{case.id}/report").get_data(as_text=True)
    assert "1 förfrågan skickas." in html and "förfrågningar skickas" not in html


def test_the_client_reads_one_debt_and_a_one_month_plan_in_the_singular(world, db, make_app):
    answer_by_post(world, db, 1)
    case = world.case
    world.client.post(f"/cases/{case.id}/budget", data={"salary": "20 000"})
    case.plan_months = 1
    db.commit()
    client = make_app("client").test_client()
    login_citizen(client, case.person)
    sv = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "svarat, 1 skuld " in sv and "1 skulder" not in sv
    assert "i månaden under 1 månad," in sv
    en = client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    assert "replied, 1 debt " in en and "1 debts" not in en
    assert "a month for 1 month," in en


def test_a_one_month_plan_says_month(world, db):
    add(db, world.case, world.anna, "Kreditbanken", "10 000")
    db.commit()
    c, case = world.client, world.case
    html = c.get(f"/cases/{case.id}/plan?months=1").get_data(as_text=True)
    assert "(1 månad)" in html
    assert "(2 månader)" in c.get(f"/cases/{case.id}/plan?months=2").get_data(as_text=True)


def test_the_demo_clock_counts_whole_days(make_app, factories, settings, tmp_path):
    org = factories.org(OrgKind.MUNICIPALITY)
    admin = factories.user(org, Role.MUNICIPALITY_ADMIN)
    app = make_app(
        "counsellor", SETTINGS=settings.with_overrides(env="demo", instance_dir=tmp_path)
    )
    c = app.test_client()
    login_staff(c, admin)
    try:
        html = c.get("/admin/demo-clock").get_data(as_text=True)
        assert "<dd>0 dagar</dd>" in html and "0.0" not in html
        assert c.post("/admin/demo-clock", data={"days": "1"}).status_code == 303
        html = c.get("/admin/demo-clock").get_data(as_text=True)
        assert "Demoklockan flyttades fram 1 dag." in html and "<dd>1 dag</dd>" in html
        en = c.get("/admin/demo-clock?lang=en").get_data(as_text=True)
        assert "<dd>1 day</dd>" in en
    finally:
        clock.use_demo_offset_file(None)


# ---- Labels and money --------------------------------------------------------------------


def test_the_summary_in_english_translates_kinds_statuses_and_money(world, db):
    case, anna, c = world.case, world.anna, world.client
    add(db, case, anna, "Kreditbanken", "89 120")
    add(db, case, anna, "Telia", "1 000", kind="utility", status="at_kfm")
    db.commit()
    sv = c.get(f"/cases/{case.id}/summary").get_data(as_text=True)
    assert "89\xa0120,00\xa0kr" in sv and "el/tele" in sv and "hos Kronofogden" in sv
    en = c.get(f"/cases/{case.id}/summary?lang=en").get_data(as_text=True)
    assert "SEK\xa089,120.00" in en and "SEK89" not in en and "\xa0kr<" not in en
    for swedish, english in [
        ("lån", "loan"),
        ("el/tele", "electricity/telecom"),
        ("obestridd", "undisputed"),
        ("hos Kronofogden", "with the Enforcement Authority"),
    ]:
        assert f">{english}<" in en and f">{swedish}<" not in en, swedish
    # The debt form's choices too.
    form = c.get(f"/cases/{case.id}/debts/new?lang=en").get_data(as_text=True)
    assert ">electricity/telecom</option>" in form and ">in an instalment plan</option>" in form


def test_the_budget_in_english_names_the_categories_in_english(world):
    c, case = world.client, world.case
    html = c.get(f"/cases/{case.id}/budget?lang=en").get_data(as_text=True)
    assert ">Water and sewage</label>" in html and "Vatten och avlopp" not in html


def test_the_client_reads_debt_kinds_in_english(world, db, make_app):
    case = world.case
    client = make_app("client").test_client()
    login_citizen(client, case.person)
    r = client.post(
        f"/cases/{case.id}/debts/new",
        data={"creditor_name": "Telia", "reference": "F-1", "capital": "1 200", "kind": "csn"},
    )
    assert r.status_code == 303
    en = client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    assert "<td>CSN</td>" in en and "SEK\xa01,200.00" in en
    form = client.get(f"/cases/{case.id}/debts/new?lang=en").get_data(as_text=True)
    assert ">Electricity/telecom</option>" in form and ">CSN</option>" in form  # not "Csn"


def test_the_creditor_reads_kinds_statuses_and_money_in_english(world, db, factories, make_app):
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    entry = Creditor(name=bank.name, orgnr=bank.orgnr, organisation_id=bank.id, channel=Channel.WEB)
    db.add(entry)
    db.flush()
    [inquiry] = inquiries.send_inquiries(db, world.anna, world.case, [entry.id])
    db.commit()
    delivery.deliver(db, inquiry.id)
    db.commit()
    c = make_app("creditor").test_client()
    login_staff(c, factories.user(bank, Role.CREDITOR_AGENT))
    form = c.get(f"/inquiries/{inquiry.id}?lang=en").get_data(as_text=True)
    assert ">Electricity/telecom</option>" in form and ">With the Enforcement Authority<" in form
    answer = {
        "answer": "yes",
        "debts[0].kind": "card",
        "debts[0].capital": "89 120",
        "debts[0].status": "at_kfm",
    }
    assert c.post(f"/inquiries/{inquiry.id}/answer", data=answer).status_code == 303
    en = c.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert "<td>Card</td>" in en and "<td>With the Enforcement Authority</td>" in en
    assert "SEK\xa089,120.00" in en
    sv = c.get(f"/inquiries/{inquiry.id}?lang=sv").get_data(as_text=True)
    assert "<td>Kort</td>" in sv and "<td>Hos Kronofogden</td>" in sv and "89\xa0120,00\xa0kr" in sv


# ---- The fullmakt's validity on the case page -------------------------------------------------


def test_the_case_page_shows_the_real_validity_once_signed_and_after_shortening(world, db):
    c, case = world.client, world.case
    fullmakt = case.fullmakt
    html = c.get(f"/cases/{case.id}").get_data(as_text=True)
    start, end = fullmakt.valid_from.isoformat(), fullmakt.valid_until.isoformat()
    assert f"från och med {start} till och med {end}" in html
    assert "från underskriften" not in html  # the months were a promise before signing
    shorter = fullmakt.valid_from + timedelta(days=30)
    r = c.post(f"/cases/{case.id}/validity", data={"valid_until": shorter.isoformat()})
    assert r.status_code == 303
    html = c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"från och med {start} till och med {shorter.isoformat()}" in html
    assert "12 månader från underskriften" not in html


def test_the_case_page_shows_the_months_before_signing(world, db):
    anna = world.anna
    case = register(db, anna, pnr="199105273420", email="anna@example.se").case
    db.commit()
    html = world.client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "12 månader från underskriften" in html and "från och med" not in html


# ---- The BOSS+ file's headers ------------------------------------------------------------


def test_the_export_names_the_file_by_case_and_says_its_charset_once(world, db):
    case, anna, c = world.case, world.anna, world.client
    add(db, case, anna, "Kreditbanken", "12 345,50")
    db.commit()
    r = c.get(f"/cases/{case.id}/export.csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = r.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="bossplus-{case.id.hex[:8]}.csv"'
    assert case.person.personnummer[:8] not in disposition  # no birth date
