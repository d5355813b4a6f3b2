"""Tenant isolation again in the database: PostgreSQL row-level security."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.models import OrgKind


def test_row_level_security_hides_other_tenants_rows(db, factories):
    if db.bind.dialect.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature (SQLite relies on the ORM scope)")
    a, b = factories.org(OrgKind.MUNICIPALITY), factories.org(OrgKind.MUNICIPALITY)
    ua, ub = factories.user(a), factories.user(b)
    db.flush()
    # RLS binds ordinary roles, not superusers or the owner: act as an application role.
    db.execute(text("DO $$ BEGIN CREATE ROLE skuldkoll_app NOLOGIN; "
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
    db.execute(text("GRANT USAGE ON SCHEMA public TO skuldkoll_app"))
    db.execute(text("GRANT SELECT ON users TO skuldkoll_app"))
    db.execute(text("SET LOCAL ROLE skuldkoll_app"))
    db.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(a.id)})
    ids = set(db.execute(text("SELECT id FROM users")).scalars())
    assert ua.id in ids and ub.id not in ids
    db.execute(text("RESET ROLE"))
