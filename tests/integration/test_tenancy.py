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
