"""Debts of a case as services: a yes needs a debt, one row parser with one cap, a
creditor's newer answer replaces its earlier one, the counsellor corrects and removes
debts, unconfirmed debts stand apart, and the BOSS+ export names creditor and agency."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.core.actor import Actor
from shared.core.errors import DomainError, FieldError, FieldErrors, NotAllowed
from shared.counselling import answers, bossplus, compilation, inquiries
from shared.counselling.models import Answer, BudgetEntry, Debt, InquiryStatus
from shared.creditor_link import delivery
from shared.identity.models import Channel, Creditor, OrgKind, Role
from shared.security.models import AuditEntry
from tests.factories import register, sign


@pytest.fixture
def setup(db, factories):
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    counsellor = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    case = register(db, counsellor).case
    sign(db, case)
    agency = factories.org(OrgKind.AGENCY, "Nordisk Inkasso AB")
    web = Creditor(
        name="Nordisk Inkasso AB",
        orgnr=agency.orgnr,
        organisation_id=agency.id,
        channel=Channel.WEB,
        email="inkorg@example.se",
    )
    db.add(web)
    db.flush()
    return counsellor, case, web


def item(capital="1 000", creditor_name="Nordisk Inkasso AB", **kw):
    data = {"kind": "loan", "capital": capital, "reference": "L-1", **kw}
    return answers.parse_debt(data, creditor_name=creditor_name)


def asked(db, counsellor, case, creditor, **kw):
    [inquiry] = inquiries.send_inquiries(db, counsellor, case, [creditor.id], **kw)
    assert delivery.deliver(db, inquiry.id) == "delivered"
    return inquiry


def answer_yes(db, inquiry, *debts):
    return answers.answer(
        db, inquiry, answer=Answer.YES, debts=list(debts), source="form", actor=Actor("user", "x")
    )


# -- a yes has debts; one row parser, one cap --------------------------------------------


def test_a_yes_without_debts_is_refused_at_debts(db, setup):
    counsellor, case, web = setup
    inquiry = asked(db, counsellor, case, web)
    with pytest.raises(FieldError) as err:
        answers.answer(
            db, inquiry, answer=Answer.YES, debts=[], source="api", actor=Actor("api", "k")
        )
    assert err.value.field == "debts" and "minst en skuld" in err.value.message
    assert inquiry.status == InquiryStatus.DELIVERED and inquiry.answer is None


def test_parse_debts_checks_every_row_and_caps_the_count():
    with pytest.raises(FieldErrors) as err:
        answers.parse_debts(
            {
                0: {"kind": "loan", "capital": "100"},
                2: {"kind": "boat", "capital": "100"},
                5: {"kind": "loan", "capital": "tio"},
            },
            creditor_name="X",
        )
    assert [e.field for e in err.value.errors] == ["debts[2].kind", "debts[5].capital"]
    row = {"kind": "loan", "capital": "1"}
    assert len(answers.parse_debts(dict.fromkeys(range(answers.MAX_DEBTS), row), creditor_name="X"))
    for rows in (dict.fromkeys(range(answers.MAX_DEBTS + 1), row), {answers.MAX_DEBTS: row}):
        with pytest.raises(FieldError) as err:
            answers.parse_debts(rows, creditor_name="X")
        assert err.value.field == "debts" and str(answers.MAX_DEBTS) in err.value.message


@pytest.mark.parametrize("count", ["abc", str(10**9), "0", "-1", "²", "101"])
def test_a_form_row_count_that_is_not_1_to_the_cap_is_a_field_error(count):
    with pytest.raises(FieldError) as err:
        answers.read_debt_rows({"rows": count}, count=count)
    assert err.value.field == "rows"


def test_form_rows_are_read_by_index_blank_ones_too():
    rows = answers.read_debt_rows(
        {"debts[1].capital": "5", "debts[1].kind": "loan", "debts[7].x": "ignored", "rows": "2"},
        count="2",
    )
    assert rows == {0: {}, 1: {"capital": "5", "kind": "loan"}}
    assert list(answers.filled_rows(rows)) == [1]
    assert answers.blank_row({"status": "undisputed"}) and not answers.blank_row({"kind": "csn"})


# -- a creditor asked again: its newer answer replaces the earlier one -------------------


def totals(db, case):
    return compilation.summary(db, case).totals.total_ore


def exported_capitals(db, counsellor, case):
    data = compilation.export_bossplus(db, counsellor, case)
    return sorted(d.capital_ore for d in bossplus.parse_csv(data).debts)


def test_asking_a_creditor_again_needs_a_confirmation_and_its_new_answer_replaces_the_old(
    db, setup
):
    counsellor, case, web = setup
    first = asked(db, counsellor, case, web)
    answer_yes(db, first, item("1 000"), item("2 000", reference="L-2"))
    assert totals(db, case) == 300_000
    assert exported_capitals(db, counsellor, case) == [100_000, 200_000]

    with pytest.raises(FieldError) as err:
        inquiries.send_inquiries(db, counsellor, case, [web.id])
    assert err.value.field == "ask_again" and "Nordisk Inkasso AB" in err.value.message
    second = asked(db, counsellor, case, web, ask_again=True)
    # Until the creditor answers again, its first answer still counts.
    assert totals(db, case) == 300_000
    answer_yes(db, second, item("2 500", reference="L-2"))

    assert totals(db, case) == 250_000  # not 550 000: the first answer no longer counts
    assert compilation.summary(db, case).line_count == 1
    assert exported_capitals(db, counsellor, case) == [250_000]
    plan = compilation.plan(db, case, 12).plan
    assert plan.total_debt_ore == 250_000
    old = db.scalars(select(Debt).where(Debt.inquiry_id == first.id)).all()
    assert len(old) == 2
    assert all(d.superseded_at is not None and d.superseded_by_inquiry_id == second.id for d in old)
    assert {d.id for d in inquiries.debt_history(db, case)} == {d.id for d in old}
    assert [d.inquiry_id for d in inquiries.case_debts(db, case)] == [second.id]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.subject_id == str(second.id))).all()
    assert [e.details.get("superseded_debts") for e in entry if e.action == "inquiry.answered"] == [
        2
    ]


def test_a_newer_no_replaces_an_earlier_yes(db, setup):
    counsellor, case, web = setup
    answer_yes(db, asked(db, counsellor, case, web), item("1 000"))
    second = asked(db, counsellor, case, web, ask_again=True)
    answers.answer(db, second, answer=Answer.NO, debts=[], source="form", actor=Actor("user", "x"))
    assert totals(db, case) == 0 and len(inquiries.debt_history(db, case)) == 1


def test_another_creditors_answer_replaces_nothing(db, setup, factories):
    counsellor, case, web = setup
    other = Creditor(name="CSN", channel=Channel.MANUAL)
    db.add(other)
    db.flush()
    answer_yes(db, asked(db, counsellor, case, web), item("1 000"))
    answer_yes(db, asked(db, counsellor, case, other), item("4 000", creditor_name="CSN"))
    assert totals(db, case) == 500_000 and inquiries.debt_history(db, case) == []


# -- the counsellor corrects and removes debts -------------------------------------------


def test_the_counsellor_changes_a_debt_with_a_reason(db, setup):
    counsellor, case, web = setup
    answer_yes(db, asked(db, counsellor, case, web), item("1 000"))
    [debt] = inquiries.case_debts(db, case)
    with pytest.raises(FieldError) as err:
        answers.change_debt(db, counsellor, debt, item("1 200"), "  ")
    assert err.value.field == "reason"
    with pytest.raises(FieldError) as err:
        answers.change_debt(
            db, counsellor, debt, item("1 200", creditor_name="Telia"), "fel borgenär"
        )
    assert err.value.field == "creditor_name"
    with pytest.raises(DomainError, match="Inga uppgifter") as err:
        answers.change_debt(db, counsellor, debt, item("1 000"), "samma")
    assert err.value.status == 422 and err.value.field is None
    answers.change_debt(db, counsellor, debt, item("1 200", fees="60"), "nytt brev från borgenären")
    db.expire_all()
    assert (debt.capital_ore, debt.fees_ore) == (120_000, 6_000)
    assert debt.changed_by == counsellor.id and debt.changed_at is not None
    assert debt.change_reason == "nytt brev från borgenären"
    assert totals(db, case) == 126_000
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "debt.changed")).one()
    assert entry.subject_id == str(debt.id) and entry.details["fields"] == [
        "capital_ore",
        "fees_ore",
    ]
    assert "brev" not in str(entry.details)  # the reason is personal text: not in the log


def test_a_removed_debt_is_kept_but_no_longer_counted(db, setup):
    counsellor, case, web = setup
    answer_yes(db, asked(db, counsellor, case, web), item("1 000"), item("500", reference="L-2"))
    kept, gone = inquiries.case_debts(db, case)
    with pytest.raises(FieldError) as err:
        answers.remove_debt(db, counsellor, gone, "")
    assert err.value.field == "reason"
    answers.remove_debt(db, counsellor, gone, "betald i oktober")
    assert [d.id for d in inquiries.case_debts(db, case)] == [kept.id]
    assert [d.id for d in inquiries.debt_history(db, case)] == [gone.id]
    assert gone.removed_by == counsellor.id and gone.removed_reason == "betald i oktober"
    assert totals(db, case) == 100_000
    assert exported_capitals(db, counsellor, case) == [100_000]
    assert compilation.plan(db, case, 12).plan.total_debt_ore == 100_000
    with pytest.raises(NotAllowed):
        answers.remove_debt(db, counsellor, gone, "igen")
    with pytest.raises(NotAllowed):
        answers.change_debt(db, counsellor, gone, item("1"), "ändra")
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "debt.removed")).one()


# -- unconfirmed debts stand apart; the export names creditor and agency ------------------


def test_a_debt_the_client_added_counts_only_once_confirmed(db, setup):
    counsellor, case, _web = setup
    answers.add_manual_debt(
        db, case, item("1 000", creditor_name="Kreditbanken"), by_user=counsellor
    )
    theirs = answers.add_manual_debt(
        db, case, item("300", creditor_name="Telia", kind="utility"), by_person_id=case.person_id
    )
    compiled = compilation.compile_debts(db, case)
    assert compiled.summary.totals.total_ore == 100_000 and compiled.summary.line_count == 1
    assert compiled.unconfirmed_summary.totals.total_ore == 30_000
    assert [d.id for d in compiled.unconfirmed] == [theirs.id]
    parsed = bossplus.parse_csv(compilation.export_bossplus(db, counsellor, case))
    assert [(d.creditor_name, d.confirmed) for d in parsed.debts] == [
        ("Kreditbanken", True),
        ("Telia", False),
    ]
    answers.confirm_debt(db, counsellor, theirs)
    assert totals(db, case) == 130_000


def test_the_export_names_the_original_creditor_and_the_agency(db, setup):
    counsellor, case, web = setup
    answer_yes(
        db,
        asked(db, counsellor, case, web),
        item("1 500", kind="utility", reference="NI-77", original_creditor="Telia Sverige AB"),
        item("800", reference="NI-78"),  # the agency's own claim
    )
    parsed = bossplus.parse_csv(compilation.export_bossplus(db, counsellor, case))
    collected, own = parsed.debts
    assert (collected.creditor_name, collected.creditor_orgnr, collected.creditor_reference) == (
        "Telia Sverige AB",
        "",
        "",
    )
    assert (collected.agency_name, collected.agency_orgnr, collected.agency_reference) == (
        "Nordisk Inkasso AB",
        web.orgnr,
        "NI-77",
    )
    assert (own.creditor_name, own.creditor_orgnr, own.creditor_reference) == (
        "Nordisk Inkasso AB",
        web.orgnr,
        "NI-78",
    )
    assert own.agency_name == ""


# -- the budget reports every wrong amount at once ---------------------------------------


def test_save_budget_reports_every_bad_amount_and_saves_nothing(db, setup):
    counsellor, case, _web = setup
    with pytest.raises(FieldErrors) as err:
        compilation.save_budget(
            db, counsellor, case, {"salary": "25 000", "food": "tre tusen", "housing": "-5"}
        )
    assert {e.field for e in err.value.errors} == {"food", "housing"}
    assert db.scalars(select(BudgetEntry)).all() == []
