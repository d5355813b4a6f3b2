"""Acting as the application's database role: PostgreSQL row-level security binds a
role that is neither a superuser nor the tables' owner (as production must connect)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.core import db as dbmod

APP_ROLE = "skuldkoll_app"


def act_as_application_role(db: Session) -> None:
    """From here to the end of the test's transaction the connection is ``APP_ROLE``
    (read and write on every table, owner of none), and the application knows that
    row-level security now binds it."""
    db.execute(
        text(
            f"DO $$ BEGIN CREATE ROLE {APP_ROLE} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    )
    db.execute(text(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}"))
    db.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    )
    db.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"))
    db.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    db.connection().info.pop(dbmod.ROLE_UNDER_RLS, None)
    db.info.pop(dbmod.ROLE_UNDER_RLS, None)
