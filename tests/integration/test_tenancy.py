"""Tenant isolation again in the database: PostgreSQL row-level security."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.identity.models import OrgKind


def test_row_level_security_hides_other_tenants_rows(db, factories):
    if db.bind.dialect.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature (SQLite relies on the ORM scope)")
    a, b = factories.org(OrgKind.MUNICIPALITY), factories.org(OrgKind.MUNICIPALITY)
    ua, ub = factories.user(a), factories.user(b)
    db.flush()
    # RLS binds ordinary roles, not superusers or the owner: act as an application role.
    db.execute(
        text(
            "DO $$ BEGIN CREATE ROLE skuldkoll_app NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    )
    db.execute(text("GRANT USAGE ON SCHEMA public TO skuldkoll_app"))
    db.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO skuldkoll_app"))
    db.execute(text("SET LOCAL ROLE skuldkoll_app"))
    db.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(a.id)})
    ids = set(db.execute(text("SELECT id FROM users")).scalars())
    assert ua.id in ids and ub.id not in ids
    db.execute(text("RESET ROLE"))


def test_row_level_security_for_a_creditor_and_a_municipality(db, factories):
    """Under an application role, a creditor sees the inquiries addressed to it (with the
    case, fullmakt and counsellor needed to verify them) and nothing else; another
    creditor sees nothing."""
    if db.bind.dialect.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature (SQLite relies on the ORM scope)")
    from shared.counselling import inquiries
    from shared.identity.models import Channel, Creditor
    from tests.factories import register, sign

    municipality = factories.org(OrgKind.MUNICIPALITY)
    from shared.identity.models import Role

    counsellor = factories.user(municipality, Role.COUNSELLOR)
    case = register(db, counsellor).case
    sign(db, case)
    agency, other = factories.org(OrgKind.AGENCY), factories.org(OrgKind.CREDITOR)
    creditor = Creditor(name="Byrån", organisation_id=agency.id, channel=Channel.WEB)
    db.add(creditor)
    db.flush()
    [inquiry] = inquiries.send_inquiries(db, counsellor, case, [creditor.id])
    db.flush()
    db.execute(
        text(
            "DO $$ BEGIN CREATE ROLE skuldkoll_app NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    )
    db.execute(text("GRANT USAGE ON SCHEMA public TO skuldkoll_app"))
    db.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO skuldkoll_app"))
    db.execute(text("SET LOCAL ROLE skuldkoll_app"))

    def visible(org, table):
        db.execute(text("SELECT set_config('app.org_id', :o, true)"), {"o": str(org.id)})
        return set(db.execute(text(f"SELECT id FROM {table}")).scalars())  # noqa: S608

    assert visible(agency, "inquiries") == {inquiry.id}
    assert visible(agency, "cases") == {case.id}
    assert visible(agency, "fullmakter") == {case.fullmakt.id}
    assert counsellor.id in visible(agency, "users")
    for table in ("inquiries", "cases", "fullmakter"):
        assert visible(other, table) == set()
    assert counsellor.id not in visible(other, "users")
    assert visible(municipality, "cases") == {case.id}
    db.execute(text("RESET ROLE"))


def _world(db, factories):
    """Two municipalities, each with a signed case that sent an inquiry (answered yes,
    with a debt) to its own creditor organisation."""
    from shared.core.actor import Actor
    from shared.counselling import answers, inquiries
    from shared.counselling.models import Answer
    from shared.creditor_link import delivery
    from shared.identity.models import Role
    from tests.factories import ERIK, OTHERS, directory_entry, register, sign

    out = []
    for pnr in (ERIK, OTHERS[0]):
        municipality = factories.org(OrgKind.MUNICIPALITY)
        counsellor = factories.user(municipality, Role.COUNSELLOR)
        case = register(db, counsellor, pnr=pnr).case
        sign(db, case)
        creditor_org = factories.org(OrgKind.AGENCY)
        agent = factories.user(creditor_org, Role.CREDITOR_AGENT)
        creditor = directory_entry(db, creditor_org)
        [inquiry] = inquiries.send_inquiries(db, counsellor, case, [creditor.id])
        assert delivery.deliver(db, inquiry.id) == "delivered"
        debt = answers.parse_debt(
            {"kind": "loan", "capital": "1000", "reference": "R-1"}, creditor_name="Byrån"
        )
        answers.answer(
            db, inquiry, answer=Answer.YES, debts=[debt], source="form", actor=Actor.user(agent)
        )
        db.flush()
        out.append((municipality, counsellor, case, creditor_org, agent, inquiry))
    return out


def test_the_application_role_sees_through_policies_applied_once(db, database, factories):
    """As the application role (row-level security on), the ORM adds no tenant criteria
    of its own, and each tenant sees exactly its rows: a creditor the case, fullmakt,
    debts, subscriptions and counsellor behind its inquiry, nothing of the other's."""
    if db.bind.dialect.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature (SQLite relies on the ORM scope)")
    from sqlalchemy import event, select

    from shared.core import db as dbmod
    from shared.counselling.models import Case, Debt, Fullmakt, Inquiry
    from shared.identity.models import User
    from tests.factories.roles import act_as_application_role

    (m1, c1, case1, k1, a1, i1), (m2, c2, case2, k2, a2, i2) = _world(db, factories)
    act_as_application_role(db)
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(
        db.bind.engine if hasattr(db.bind, "engine") else db.bind, "before_cursor_execute", seen
    )
    try:
        with dbmod.tenant(k1.id):
            assert set(db.scalars(select(Case.id))) == {case1.id}
            assert set(db.scalars(select(Inquiry.id))) == {i1.id}
            assert set(db.scalars(select(Fullmakt.id))) == {case1.fullmakt.id}
            assert set(db.scalars(select(Debt.inquiry_id))) == {i1.id}
            assert set(db.scalars(select(User.id))) == {a1.id, c1.id}
        with dbmod.tenant(m2.id):
            assert set(db.scalars(select(Case.id))) == {case2.id}
            assert set(db.scalars(select(Inquiry.id))) == {i2.id}
            assert set(db.scalars(select(User.id))) == {c2.id}
    finally:
        event.remove(
            db.bind.engine if hasattr(db.bind, "engine") else db.bind, "before_cursor_execute", seen
        )
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM" in s]
    assert selects and not any("EXISTS" in s or "organisation_id" in s for s in selects), selects


def test_the_application_role_writes_nothing_of_another_tenant(db, factories):
    """Under row-level security a tenant's UPDATE or DELETE of another's rows touches
    nothing, and an INSERT into another tenant is refused."""
    if db.bind.dialect.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature (SQLite relies on the ORM scope)")
    import sqlalchemy.exc

    from tests.factories.roles import act_as_application_role

    (m1, c1, case1, k1, a1, i1), (m2, *_rest) = _world(db, factories)
    act_as_application_role(db)

    def as_org(org):
        db.execute(text("SELECT set_config('app.org_id', :o, true)"), {"o": str(org.id)})

    as_org(m2)
    for statement in (
        "UPDATE cases SET plan_months = 1 WHERE id = :id",
        "UPDATE fullmakter SET end_reason = 'x' WHERE case_id = :id",
        "DELETE FROM budget_entries WHERE case_id = :id",
        "UPDATE debts SET note = NULL WHERE case_id = :id",
    ):
        assert db.execute(text(statement), {"id": case1.id}).rowcount == 0, statement
    as_org(m2)
    db.execute(text("SAVEPOINT refused"))
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        db.execute(
            text(
                "INSERT INTO budget_entries"
                " (id, organisation_id, case_id, kind, category, amount_ore) "
                "VALUES (gen_random_uuid(), :org, :case, 'income', 'salary', 1)"
            ),
            {"org": m1.id, "case": case1.id},
        )
    db.execute(text("ROLLBACK TO SAVEPOINT refused"))
