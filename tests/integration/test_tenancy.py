"""Tenant isolation again in the database: PostgreSQL row-level security."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.core import db as dbmod
from shared.identity.models import OrgKind
from tests.factories.roles import act_as_application_role

pg_only = pytest.mark.usefixtures("_postgresql")


@pytest.fixture
def _postgresql(db):
    if db.bind.dialect.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature (SQLite relies on the ORM scope)")


def _as(db, org=None, *, system: bool = False) -> None:
    """Raw SQL from here on acts for ``org`` (None: no tenant), in the system scope or
    not: on the session's connection, past the session's own scoping."""
    conn = db.connection()
    conn.execute(
        text("SELECT set_config('app.org_id', :o, true), set_config('app.scope', :s, true)"),
        {"o": str(org.id) if org else "", "s": "system" if system else ""},
    )


def _ids(db, table: str, org=None, *, system: bool = False, column: str = "id") -> set:
    _as(db, org, system=system)
    return set(db.connection().execute(text(f"SELECT {column} FROM {table}")).scalars())  # noqa: S608


def test_row_level_security_hides_other_tenants_rows(db, factories):
    if db.bind.dialect.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature (SQLite relies on the ORM scope)")
    a, b = factories.org(OrgKind.MUNICIPALITY), factories.org(OrgKind.MUNICIPALITY)
    ua, ub = factories.user(a), factories.user(b)
    db.flush()
    # RLS binds ordinary roles, not superusers or the owner: act as an application role.
    act_as_application_role(db)
    conn = db.connection()  # raw SQL, past the session's own scope
    conn.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(a.id)})
    conn.execute(text("SELECT set_config('app.scope', '', true)"))
    ids = set(conn.execute(text("SELECT id FROM users")).scalars())
    assert ua.id in ids and ub.id not in ids


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
    act_as_application_role(db)

    def visible(org, table):
        return _ids(db, table, org)

    assert visible(agency, "inquiries") == {inquiry.id}
    assert visible(agency, "cases") == {case.id}
    assert visible(agency, "fullmakter") == {case.fullmakt.id}
    assert counsellor.id in visible(agency, "users")
    for table in ("inquiries", "cases", "fullmakter"):
        assert visible(other, table) == set()
    assert counsellor.id not in visible(other, "users")
    assert visible(municipality, "cases") == {case.id}


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
        _as(db, org)

    as_org(m2)
    for statement in (
        "UPDATE cases SET plan_months = 1 WHERE id = :id",
        "UPDATE fullmakter SET end_reason = 'x' WHERE case_id = :id",
        "DELETE FROM budget_entries WHERE case_id = :id",
        "UPDATE debts SET note = NULL WHERE case_id = :id",
    ):
        assert db.connection().execute(text(statement), {"id": case1.id}).rowcount == 0
    as_org(m2)
    db.connection().execute(text("SAVEPOINT refused"))
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        db.connection().execute(
            text(
                "INSERT INTO budget_entries"
                " (id, organisation_id, case_id, kind, category, amount_ore) "
                "VALUES (gen_random_uuid(), :org, :case, 'income', 'salary', 1)"
            ),
            {"org": m1.id, "case": case1.id},
        )
    db.connection().execute(text("ROLLBACK TO SAVEPOINT refused"))


# Every table with a policy, and a column to count it by.
POLICY_TABLES = {
    "organisations": "id",
    "users": "id",
    "persons": "id",
    "creditors": "id",
    "api_keys": "id",
    "cases": "id",
    "fullmakter": "id",
    "inquiries": "id",
    "debts": "id",
    "budget_entries": "id",
    "fullmakt_subscriptions": "id",
    "webhook_endpoints": "id",
    "webhook_deliveries": "id",
    "webhook_attempts": "id",
    "creditor_notices": "id",
    "idempotency_records": "id",
    "bankid_orders": "id",
    "outbox": "id",
    "email_messages": "id",
    "audit_log": "seq",
}


@pg_only
def test_without_a_tenant_the_application_role_sees_no_row(db, factories):
    """Row-level security fails closed: raw SQL as the application role, with no
    organisation and outside the system scope, sees no row of any table with a policy;
    in the system scope it sees them all."""
    _world(db, factories)
    db.commit()  # the audit entries are chained and written in the commit step
    act_as_application_role(db)
    everything = {t: _ids(db, t, system=True, column=c) for t, c in POLICY_TABLES.items()}
    filled = {t for t, ids in everything.items() if ids}
    assert filled >= {
        "organisations",
        "users",
        "persons",
        "creditors",
        "cases",
        "fullmakter",
        "inquiries",
        "debts",
        "bankid_orders",
        "outbox",
        "email_messages",
        "audit_log",
    }, filled
    assert {t: _ids(db, t, column=c) for t, c in POLICY_TABLES.items()} == {
        t: set() for t in POLICY_TABLES
    }


@pg_only
def test_the_applications_sessions_fail_closed_outside_a_tenant_and_the_system_scope(
    database, db, factories
):
    """A session of the application (not the suite's factories) names no tenant: it sees
    no case; in the system scope it sees every tenant's."""
    from sqlalchemy import select

    from shared.counselling.models import Case

    world = _world(db, factories)
    db.flush()
    with database.session() as session:
        assert session.scalars(select(Case.id)).all() == []
        with dbmod.system_scope():
            assert set(session.scalars(select(Case.id))) == {w[2].id for w in world}
        assert session.scalars(select(Case.id)).all() == []


@pg_only
def test_a_job_across_tenants_works_only_in_the_system_scope(database, db, factories):
    """The daily fullmakt sweep ends every tenant's expired fullmakter: outside the
    system scope the database lets it see none, inside it ends both."""
    from datetime import timedelta

    from sqlalchemy import select

    from shared.core import clock
    from shared.counselling import retention
    from shared.counselling.models import Fullmakt, FullmaktStatus
    from shared.creditor_link import fullmakt_events

    world = _world(db, factories)
    db.flush()
    later = clock.now() + timedelta(days=400)
    with database.session() as session:
        counts = retention.process_deadlines(
            session, later, before_purge=fullmakt_events.before_purge
        )
        assert set(counts.values()) == {0}
        with dbmod.system_scope():
            counts = retention.process_deadlines(
                session, later, before_purge=fullmakt_events.before_purge
            )
            session.commit()
        assert counts["expired"] == 2
    db.expire_all()
    ids = {w[2].fullmakt.id for w in world}
    statuses = set(db.scalars(select(Fullmakt.status).where(Fullmakt.id.in_(ids))))
    assert statuses == {FullmaktStatus.EXPIRED}


@pg_only
def test_a_creditor_reads_but_never_writes_the_case_behind_its_inquiry(db, factories):
    """Reads and writes are split: the creditor an inquiry is addressed to sees the case,
    fullmakt, counsellor and person behind it, and an UPDATE of any of them touches 0
    rows (the municipality's own UPDATE touches 1)."""
    (m1, c1, case1, k1, a1, i1), _other = _world(db, factories)
    act_as_application_role(db)
    rows = {
        "cases": case1.id,
        "fullmakter": case1.fullmakt.id,
        "users": c1.id,
        "persons": case1.person_id,
    }
    for table, row_id in rows.items():
        assert row_id in _ids(db, table, k1), table
    updates = {
        "cases": "UPDATE cases SET plan_months = plan_months WHERE id = :id",
        "fullmakter": "UPDATE fullmakter SET end_reason = end_reason WHERE id = :id",
        "users": "UPDATE users SET name = name WHERE id = :id",
        "persons": "UPDATE persons SET last_login_at = last_login_at WHERE id = :id",
    }
    conn = db.connection()
    for org, expected in ((k1, 0), (m1, 1)):
        _as(db, org)
        for table, statement in updates.items():
            touched = conn.execute(text(statement), {"id": rows[table]}).rowcount
            assert touched == expected, (org.kind, table)


@pg_only
def test_persons_and_the_directory_under_row_level_security(db, factories):
    """A person is seen through the cases one may see; the directory of organisations
    and creditors is read by every tenant, and each writes only its own entry."""
    (m1, c1, case1, k1, a1, i1), (m2, c2, case2, k2, a2, i2) = _world(db, factories)
    act_as_application_role(db)
    assert _ids(db, "persons", m1) == {case1.person_id}
    assert _ids(db, "persons", k2) == {case2.person_id}
    assert _ids(db, "organisations", m1) >= {m1.id, m2.id, k1.id, k2.id}
    _as(db, m1)
    conn = db.connection()
    assert (
        conn.execute(
            text("UPDATE organisations SET name = name WHERE id = :id"), {"id": m2.id}
        ).rowcount
        == 0
    )
    assert (
        conn.execute(
            text("UPDATE organisations SET name = name WHERE id = :id"), {"id": m1.id}
        ).rowcount
        == 1
    )
    _as(db, k1)
    assert (
        conn.execute(
            text("UPDATE creditors SET name = name WHERE organisation_id = :id"), {"id": k2.id}
        ).rowcount
        == 0
    )
    assert _ids(db, "bankid_orders", m1) == set()
    assert _ids(db, "outbox", m1) == set() and _ids(db, "email_messages", m1) == set()
    assert {e for e in _ids(db, "audit_log", m1, column="organisation_id")} <= {m1.id}


@pg_only
def test_db_role_create_makes_a_role_that_row_level_security_binds(db):
    """``skuldkoll db-role create`` (README, production): LOGIN, no superuser, no
    BYPASSRLS, owner of nothing, may read and write every table and use every sequence."""
    import os

    from click.testing import CliRunner
    from sqlalchemy import create_engine

    from shared.cli import main

    url = os.environ["DATABASE_URL"]
    name = "skuldkoll_cli_test"
    owner = create_engine(url)
    try:
        result = CliRunner().invoke(
            main,
            [
                "db-role",
                "create",
                "--name",
                name,
                "--password-env",
                "CLI_TEST_PW",
                "--database-url",
                url,
            ],
            env={"CLI_TEST_PW": "s3cret'quote"},
        )
        assert result.exit_code == 0, result.output
        with owner.connect() as c:
            role = c.execute(
                text("SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :n"),
                {"n": name},
            ).one()
            assert tuple(role) == (True, False, False)
            assert c.scalar(
                text(
                    "SELECT has_table_privilege(:n, 'cases', 'SELECT, INSERT, UPDATE, DELETE')"
                    " AND has_sequence_privilege(:n, 'audit_log_seq_seq', 'USAGE')"
                ),
                {"n": name},
            )
    finally:
        with owner.begin() as c:
            c.execute(text(f"DROP OWNED BY {name}"))
            c.execute(text(f"DROP ROLE IF EXISTS {name}"))
        owner.dispose()


@pg_only
def test_db_role_create_says_what_to_ask_for_when_the_owner_may_not_create_roles():
    """A managed database's owner often lacks CREATEROLE: the command names the SQL a
    superuser runs, and once the role exists it only grants (no traceback)."""
    import os

    from click.testing import CliRunner
    from sqlalchemy import create_engine

    from shared.cli import main

    url = os.environ["DATABASE_URL"]
    owner = create_engine(url)
    limited, name = "skuldkoll_limited_owner", "skuldkoll_cli_test_2"
    with owner.begin() as c:
        c.execute(text(f"DROP ROLE IF EXISTS {name}"))
        c.execute(text(f"DROP ROLE IF EXISTS {limited}"))
        c.execute(text(f"CREATE ROLE {limited} NOLOGIN NOCREATEROLE"))
    try:
        with owner.connect() as c:
            c.execute(text(f"SET ROLE {limited}"))
            with pytest.raises(ValueError, match=f"CREATE ROLE {name} LOGIN"):
                dbmod.create_application_role(c, name, password="x")
            c.rollback()
        with owner.begin() as c:  # the superuser does what it said
            c.execute(text(f"CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS"))
        result = CliRunner().invoke(
            main, ["db-role", "create", "--name", name, "--database-url", url]
        )
        assert result.exit_code == 0, result.output
    finally:
        with owner.begin() as c:
            c.execute(text(f"DROP OWNED BY {name}"))
            c.execute(text(f"DROP ROLE IF EXISTS {name}"))
            c.execute(text(f"DROP ROLE IF EXISTS {limited}"))
        owner.dispose()
